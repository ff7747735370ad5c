import { type PinnedTrust } from "./CheckpointKeyTrust.js";

/** Which keys a verification trusted, as the CLI prints it and the compliance report records it. */
export type CheckpointTrustUsed =
  | {
      /** The pinned key versions beside the checkpoints (the default). */
      readonly mode: "pinned";
      /** Thumbprint of pin 0: what an auditor writes down and checks with `--trust-root`. */
      readonly root: string | null;
      readonly keys: readonly { readonly keyId: string; readonly thumbprint: string; readonly pinnedAt: string }[];
    }
  | { readonly mode: "auditor_keys"; readonly source: string; readonly keyIds: readonly string[] }
  /** The opt-out: any version of the checkpoint key in the app's Key Vault. */
  | { readonly mode: "key_vault" };

export function pinnedTrustUsed(trust: PinnedTrust): CheckpointTrustUsed {
  return { mode: "pinned", root: trust.root, keys: trust.keys.map(({ keyId, thumbprint, pinnedAt }) => ({ keyId, thumbprint, pinnedAt })) };
}

/** One line for people. */
export function describeTrustUsed(trust: CheckpointTrustUsed): string {
  switch (trust.mode) {
    case "pinned":
      return trust.root === null
        ? "trust: pinned key versions (none pinned yet: no checkpoint has been signed)"
        : `trust: pinned key versions (root ${trust.root}, ${trust.keys.length} version(s): ${trust.keys.map((k) => k.keyId).join(", ")})`;
    case "auditor_keys":
      return `trust: the auditor's keys from ${trust.source} (${trust.keyIds.length} key version(s))`;
    case "key_vault":
      return "trust: ANY version of the checkpoint key in the app's Key Vault (--trust-key-vault): not evidence against whoever can add a key version to that vault";
  }
}
