import { type JsonWebKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import { type AuditComponents } from "../../composition/audit.js";
import { isAuditIntegrityError } from "../../core/audit/AuditIntegrityError.js";
import { type CheckpointTrustUsed, pinnedTrustUsed } from "../../core/audit/checkpointTrustUsed.js";
import { PublicKeySignatureVerifier } from "../../core/audit/PublicKeySignatureVerifier.js";
import { type SignatureVerifier } from "../../core/audit/SignatureVerifier.js";

export interface TrustOptions {
  readonly trustedKeys?: string;
  readonly trustRoot?: string;
  readonly trustKeyVault?: boolean;
}

export interface ChosenTrust {
  readonly signatureVerifier: SignatureVerifier;
  /** Notes signed by any other key version are refused, named. Absent only for the opt-out. */
  readonly trustedKeyIds?: ReadonlySet<string>;
  readonly used: CheckpointTrustUsed;
}

/** The trust cannot be established: the pins are broken or not the ones the auditor expects (exit 2). */
export class TrustRefusedError extends Error {
  override readonly name = "TrustRefusedError";
}

export const TRUST_OPTION_HELP = {
  trustedKeys: "check checkpoint signatures against these public keys only (JSON { keyId: JWK }, e.g. from `audit trust --out`)",
  trustRoot: "require the pinned trust root to have this thumbprint (from `audit trust`, written down by the auditor)",
  trustKeyVault:
    "RISKY opt-out: accept ANY version of the checkpoint key in the app's Key Vault instead of the pinned versions; whoever can add a key version there can re-sign rewritten checkpoints",
} as const;

/**
 * An auditor's own keys: a JSON file `{ "<keyId>": <public JWK>, ... }`. With it, signatures are
 * checked against these keys only, not against whatever the app's Key Vault or pins say.
 */
async function auditorKeys(path: string): Promise<ChosenTrust> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch {
    throw new Error(`--trusted-keys ${path}: not a readable JSON file of { "<keyId>": <public JWK> }`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`--trusted-keys ${path}: expected an object keyed by key id`);
  const keys = parsed as Record<string, JsonWebKey>;
  return {
    signatureVerifier: new PublicKeySignatureVerifier(keys),
    trustedKeyIds: new Set(Object.keys(keys)),
    used: { mode: "auditor_keys", source: path, keyIds: Object.keys(keys) },
  };
}

/** Pinned trust by default; the auditor's keys with --trusted-keys; any vault version only when asked (--trust-key-vault). */
export async function chooseCheckpointTrust(c: AuditComponents, options: TrustOptions): Promise<ChosenTrust> {
  if (options.trustKeyVault === true && (options.trustedKeys !== undefined || options.trustRoot !== undefined)) {
    throw new Error("--trust-key-vault cannot be combined with --trusted-keys or --trust-root: choose one trust");
  }
  if (options.trustedKeys !== undefined) {
    if (options.trustRoot !== undefined) throw new Error("--trust-root checks the pinned trust; with --trusted-keys your file is the trust");
    return auditorKeys(options.trustedKeys);
  }
  if (options.trustKeyVault === true) return { signatureVerifier: c.signatureVerifier, used: { mode: "key_vault" } };
  if (c.keyTrust === null) throw new Error("no pinned checkpoint keys to trust (no Key Vault is configured): pass --trusted-keys FILE");
  let loaded;
  try {
    loaded = await c.keyTrust.load();
  } catch (error) {
    if (isAuditIntegrityError(error)) throw new TrustRefusedError(`the pinned checkpoint keys cannot be trusted: ${error.message}`);
    throw error;
  }
  const { trust } = loaded;
  if (options.trustRoot !== undefined && trust.root !== options.trustRoot) {
    throw new TrustRefusedError(`the pinned trust root is ${trust.root ?? "absent"}, not ${options.trustRoot}: the pins were replaced, or this is another deployment`);
  }
  return { signatureVerifier: trust.verifier, trustedKeyIds: trust.trustedKeyIds, used: pinnedTrustUsed(trust) };
}

export const KEY_VAULT_TRUST_WARNING =
  "WARNING: --trust-key-vault: checkpoint signatures were accepted from ANY version of the checkpoint key in the app's Key Vault, not only the pinned ones. Whoever can add a key version to that vault can re-sign a rewritten chain; this result is not evidence against them.\n";
