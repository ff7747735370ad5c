import type { ApiKeyRecord } from "../auth/ApiKeyStore.js";
import { apiKeyStatus } from "../auth/ApiKeyService.js";
import { apiKeyDisplayPrefix } from "../auth/apiKeyFormat.js";
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
  /** active, expired, revoked, disabled, missing (no usable current version). */
  readonly status: string;
  readonly severity: ExpirySeverity;
  readonly daysToExpiry: number | null;
  readonly reason: "expired" | "expiring" | "no_expiry" | "ok";
  /** Versions of a managed credential by stage, e.g. { current: 1, previous: 1 }. */
  readonly versionsByStage?: Readonly<Record<string, number>>;
}

export interface InventorySources {
  readonly secrets: SecretStore | null;
  readonly apiKeys: { list(): AsyncIterable<ApiKeyRecord> } | null;
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
  return entries;
}
