import type { ApiKeyRecord } from "../auth/ApiKeyStore.js";
import type { AuditPublisher } from "../audit/AuditPublisher.js";
import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";
import { credentialAuditEvent } from "../rotation/credentialAuditEvent.js";
import type { SecretStore } from "../secrets/SecretStore.js";
import { type CheckpointKeyExpirySource, type InventoryEntry, collectInventory } from "./credentialInventory.js";

export interface KeyExpiryCheckDeps {
  readonly secrets: SecretStore | null;
  readonly apiKeys: { list(): AsyncIterable<ApiKeyRecord> } | null;
  /** The pinned checkpoint-signing key; null or absent without one (no Key Vault). */
  readonly checkpointKey?: CheckpointKeyExpirySource | null;
  readonly audit: AuditPublisher;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly newEventId: () => string;
  readonly policyVersion: string;
  readonly apiKeyLookbackInDays?: number;
  /** Sees the whole inventory each run (the days-to-expiry gauge), so a renewed key's value updates too. */
  readonly onInventory?: (inventory: readonly InventoryEntry[]) => void;
}

export interface KeyExpiryCheckResult {
  readonly checked: number;
  readonly warnings: number;
  readonly critical: number;
  readonly findings: readonly InventoryEntry[];
}

/**
 * The timer's use case: days to expiry of every managed credential and every live Palisade API key;
 * and of the pinned checkpoint-signing key; one `key_expiring` audit event and one log line per warning or
 * critical finding. Ids and days only.
 */
export class KeyExpiryCheck {
  constructor(private readonly deps: KeyExpiryCheckDeps) {}

  async run(options: { readonly abortSignal?: AbortSignal } = {}): Promise<KeyExpiryCheckResult> {
    const nowInMs = this.deps.clock.nowInMs();
    const inventory = await collectInventory({ secrets: this.deps.secrets, apiKeys: this.deps.apiKeys, checkpointKey: this.deps.checkpointKey ?? null }, nowInMs, {
      ...(this.deps.apiKeyLookbackInDays === undefined ? {} : { apiKeyLookbackInDays: this.deps.apiKeyLookbackInDays }),
      ...(options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal }),
    });
    this.deps.onInventory?.(inventory);
    const findings = inventory.filter((entry) => entry.severity !== "ok");
    const events = findings.map((entry) =>
      credentialAuditEvent({
        type: "key_expiring",
        actorId: "keyExpiryCheck",
        project: entry.project,
        ...(entry.environment === null ? {} : { environment: entry.environment }),
        status: "success",
        reason: entry.status === "missing" ? "no_current_version" : entry.status === "unreadable" ? "unreadable" : entry.reason,
        atInMs: nowInMs,
        policyVersion: this.deps.policyVersion,
        details: {
          kind: entry.kind,
          credentialId: entry.id,
          prefix: entry.prefix,
          project: entry.project,
          days: entry.daysToExpiry,
          severity: entry.severity.toUpperCase(),
          expiresAt: entry.expiresAtInMs === null ? null : new Date(entry.expiresAtInMs).toISOString(),
          ...(entry.remedy === undefined ? {} : { remedy: entry.remedy }),
          ...(entry.problem === undefined ? {} : { problem: entry.problem }),
        },
        newEventId: this.deps.newEventId,
      }),
    );
    for (const entry of findings) {
      const fields = { kind: entry.kind, credentialId: entry.id, prefix: entry.prefix, project: entry.project, days: entry.daysToExpiry, severity: entry.severity.toUpperCase(), status: entry.status, ...(entry.remedy === undefined ? {} : { remedy: entry.remedy }), ...(entry.problem === undefined ? {} : { problem: entry.problem }) };
      if (entry.severity === "critical") this.deps.logger.error("credential expired or unusable", fields);
      else this.deps.logger.warn("credential expiring", fields);
    }
    if (events.length > 0) await this.deps.audit.publish(events, options);
    const result = {
      checked: inventory.length,
      warnings: findings.filter((entry) => entry.severity === "warning").length,
      critical: findings.filter((entry) => entry.severity === "critical").length,
      findings,
    };
    this.deps.logger.info("key expiry check done", { checked: result.checked, warnings: result.warnings, critical: result.critical });
    return result;
  }
}
