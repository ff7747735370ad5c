import type { ApiKeyRecord } from "../auth/ApiKeyStore.js";
import { apiKeyStatus } from "../auth/ApiKeyService.js";
import { apiKeyDisplayPrefix } from "../auth/apiKeyFormat.js";
import { SYSTEM_CHAIN_ID } from "../audit/AuditEvent.js";
import { isAuditIntegrityError } from "../audit/AuditIntegrityError.js";
import { isUsable } from "../secrets/isUsable.js";
import type { SecretStore } from "../secrets/SecretStore.js";
import { listManagedCredentials } from "../rotation/listManagedCredentials.js";
import { type CredentialVersion, currentVersionOf, displayPrefixOf } from "../rotation/managedCredential.js";
import { type ExpiryItem, type ExpirySeverity, assessExpiry } from "./assessExpiry.js";

/** One row of `palisade credentials report`: what a credential is and how it stands. Never a value. */
export interface InventoryEntry extends ExpiryItem {
  readonly issuer: string;
  /** Rotation stage of the version shown (`current`, ...); `-` for API keys. */
  readonly stage: string;
  readonly createdAtInMs: number | null;
  /** active, expired, revoked, disabled, missing (no usable current version), unreadable (checkpoint key pins or vault). */
  readonly status: string;
  readonly severity: ExpirySeverity;
  readonly daysToExpiry: number | null;
  readonly reason: "expired" | "expiring" | "no_expiry" | "ok";
  /** Versions of a managed credential by stage, e.g. { current: 1, previous: 1 }. */
  readonly versionsByStage?: Readonly<Record<string, number>>;
  /** What the operator runs to fix a finding (the checkpoint key: `palisade audit rotate-key`). */
  readonly remedy?: string;
  /** Why an `unreadable` item could not be read: an audit integrity problem (`invalid_key_pin`) or the error's name. */
  readonly problem?: string;
}

/** The checkpoint-signing key as the expiry check sees it (CheckpointKeyTrust). */
export interface CheckpointKeyExpirySource {
  signingKeyExpiry(options?: { readonly abortSignal?: AbortSignal }): Promise<{ keyId: string; pinned: boolean; expiresAtInMs: number | null }>;
}

export interface InventorySources {
  readonly secrets: SecretStore | null;
  readonly apiKeys: { list(): AsyncIterable<ApiKeyRecord> } | null;
  /** Null when no checkpoint key is configured (no Key Vault): nothing to list. */
  readonly checkpointKey?: CheckpointKeyExpirySource | null;
}

export interface InventoryOptions {
  /** Skip API keys revoked, or expired more than this many days ago (default 30): they are history, not risk. */
  readonly apiKeyLookbackInDays?: number;
  readonly abortSignal?: AbortSignal;
}

const DAY_IN_MS = 86_400_000;

function stageCounts(versions: readonly CredentialVersion[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const version of versions) {
    const stage = version.stage ?? "untagged";
    counts[stage] = (counts[stage] ?? 0) + 1;
  }
  return counts;
}

/** Managed credentials (their current version) and live Palisade API keys, assessed at `nowInMs`. */
export async function collectInventory(sources: InventorySources, nowInMs: number, options: InventoryOptions = {}): Promise<InventoryEntry[]> {
  const entries: InventoryEntry[] = [];
  if (sources.secrets !== null) {
    for await (const { credential, versions } of listManagedCredentials(sources.secrets, options)) {
      const current = currentVersionOf(versions);
      const item: ExpiryItem = {
        kind: "managed-credential",
        id: credential.id,
        prefix: displayPrefixOf(current),
        project: credential.project,
        environment: credential.environment,
        expiresAtInMs: current?.expiresAtInMs ?? null,
      };
      const [assessed] = assessExpiry([item], nowInMs);
      if (assessed === undefined) continue;
      const usable = current !== null && isUsable(current, nowInMs);
      entries.push({
        ...assessed,
        // No current version at all is as bad as an expired one.
        severity: current === null ? "critical" : assessed.severity,
        issuer: credential.issuer,
        stage: current?.stage ?? "-",
        createdAtInMs: current?.createdAtInMs ?? null,
        status: current === null ? "missing" : usable ? "active" : assessed.reason === "expired" ? "expired" : "disabled",
        versionsByStage: stageCounts(versions),
      });
    }
  }
  if (sources.apiKeys !== null) {
    const lookbackInMs = (options.apiKeyLookbackInDays ?? 30) * DAY_IN_MS;
    for await (const record of sources.apiKeys.list()) {
      const status = apiKeyStatus(record, nowInMs);
      if (status === "revoked" || record.expiresAtInMs < nowInMs - lookbackInMs) continue;
      const [assessed] = assessExpiry(
        [{ kind: "api-key", id: record.keyId, prefix: apiKeyDisplayPrefix(record.keyId), project: record.project, environment: null, expiresAtInMs: record.expiresAtInMs }],
        nowInMs,
      );
      if (assessed === undefined) continue;
      entries.push({ ...assessed, issuer: "palisade", stage: "-", createdAtInMs: record.createdAtInMs, status });
    }
  }
  if (sources.checkpointKey !== undefined && sources.checkpointKey !== null) entries.push(await checkpointKeyEntry(sources.checkpointKey, nowInMs, options));
  return entries;
}

export const CHECKPOINT_KEY_REMEDY = "palisade audit rotate-key";

/**
 * The version checkpoints are signed with: once it expires, no checkpoint can be signed. Pins that cannot be
 * read (broken chain, vault down) are critical too: the check cannot vouch for the key.
 */
async function checkpointKeyEntry(source: CheckpointKeyExpirySource, nowInMs: number, options: InventoryOptions): Promise<InventoryEntry> {
  const common = { kind: "checkpoint-key", project: SYSTEM_CHAIN_ID, environment: null, issuer: "key-vault", createdAtInMs: null, remedy: CHECKPOINT_KEY_REMEDY } as const;
  let signing: { keyId: string; pinned: boolean; expiresAtInMs: number | null };
  try {
    signing = await source.signingKeyExpiry(options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal });
  } catch (error) {
    if (options.abortSignal?.aborted === true) throw error;
    return { ...common, id: "checkpoint-key", prefix: "-", expiresAtInMs: null, daysToExpiry: null, severity: "critical", reason: "no_expiry", stage: "-", status: "unreadable", problem: isAuditIntegrityError(error) ? error.problem : error instanceof Error ? error.name : "unknown" };
  }
  const [assessed] = assessExpiry([{ ...common, id: signing.keyId, prefix: signing.keyId.split("/").at(-1) ?? "-", expiresAtInMs: signing.expiresAtInMs }], nowInMs);
  const { daysToExpiry, severity, reason } = assessed ?? { daysToExpiry: null, severity: "critical" as const, reason: "no_expiry" as const };
  return {
    ...common,
    id: signing.keyId,
    prefix: signing.keyId.split("/").at(-1) ?? "-",
    expiresAtInMs: signing.expiresAtInMs,
    daysToExpiry,
    severity,
    reason,
    stage: signing.pinned ? "pinned" : "unpinned",
    status: reason === "expired" ? "expired" : "active",
  };
}
