import { randomUUID } from "node:crypto";
import { vi } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import type { Logger } from "../../../src/core/logger.js";
import type { CredentialIssuer } from "../../../src/core/rotation/CredentialIssuer.js";
import { type CredentialRotatorDeps, CredentialRotator } from "../../../src/core/rotation/CredentialRotator.js";
import { loadCredentialVersions } from "../../../src/core/rotation/listManagedCredentials.js";
import type { CredentialVersion, ManagedCredential } from "../../../src/core/rotation/managedCredential.js";
import { registerCredential } from "../../../src/core/rotation/registerCredential.js";
import type { RotationStateStore } from "../../../src/core/rotation/RotationStateStore.js";
import type { SecretStore } from "../../../src/core/secrets/SecretStore.js";
import { InMemoryAuditPublisher } from "../../fakes/InMemoryAuditPublisher.js";

export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export function recordingLogger(): Logger & { readonly lines: { level: string; message: string; fields: unknown }[] } {
  const lines: { level: string; message: string; fields: unknown }[] = [];
  const at = (level: string) => vi.fn((message: string, fields?: unknown) => void lines.push({ level, message, fields }));
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export function credentialFixture(overrides: Partial<ManagedCredential> = {}): ManagedCredential {
  return {
    id: `cred-${randomUUID().slice(0, 8)}`,
    issuer: "palisade",
    project: "billing",
    environment: "prod",
    target: "billing-app",
    deployment: null,
    rotationPeriodInDays: 30,
    overlapInMs: HOUR,
    ...overrides,
  };
}

export interface RotationWorld {
  readonly secrets: SecretStore;
  readonly states: RotationStateStore;
  readonly issuer: CredentialIssuer;
  readonly audit: InMemoryAuditPublisher;
  readonly localClock: ManualClock;
  readonly logger: ReturnType<typeof recordingLogger>;
  rotator(overrides?: Partial<CredentialRotatorDeps>): CredentialRotator;
  register(credential: ManagedCredential, existing?: { value: string; issuerKeyId: string; slot: string | null }): Promise<void>;
  versions(id: string): Promise<CredentialVersion[]>;
}

export function rotationWorld(parts: { secrets: SecretStore; states: RotationStateStore; issuer: CredentialIssuer; localClock?: ManualClock }): RotationWorld {
  const audit = new InMemoryAuditPublisher();
  const localClock = parts.localClock ?? new ManualClock(Date.now());
  const logger = recordingLogger();
  return {
    secrets: parts.secrets,
    states: parts.states,
    issuer: parts.issuer,
    audit,
    localClock,
    logger,
    rotator: (overrides = {}) =>
      new CredentialRotator({
        secrets: parts.secrets,
        states: parts.states,
        issuers: { [parts.issuer.kind]: parts.issuer },
        audit,
        clock: localClock,
        logger,
        newId: randomUUID,
        policyVersion: "test-policy",
        leaseInMs: 0,
        ...overrides,
      }),
    register: async (credential, existing) => {
      await registerCredential(
        { secrets: parts.secrets, issuer: parts.issuer, audit, clock: localClock, newId: randomUUID, policyVersion: "test-policy" },
        existing === undefined ? { credential } : { credential, existing },
      );
    },
    versions: (id) => loadCredentialVersions(parts.secrets, id),
  };
}

/** Exactly-one-current check: the versions by stage, enabled ones only. */
export function enabledStages(versions: readonly CredentialVersion[]): string[] {
  return versions.filter((v) => v.enabled).map((v) => v.stage ?? "untagged").sort();
}
