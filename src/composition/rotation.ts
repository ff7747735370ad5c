import { randomUUID } from "node:crypto";
import { z } from "zod";
import { AzureOpenAiKeyIssuer } from "../adapters/issuers/AzureOpenAiKeyIssuer.js";
import { OpenAiAdminClient } from "../adapters/issuers/OpenAiAdminClient.js";
import { OpenAiServiceAccountKeyIssuer } from "../adapters/issuers/OpenAiServiceAccountKeyIssuer.js";
import { PalisadeApiKeyIssuer } from "../adapters/issuers/PalisadeApiKeyIssuer.js";
import { createCredential } from "../adapters/identity/createCredential.js";
import { TableRotationStateStore } from "../adapters/tables/TableRotationStateStore.js";
import type { AuditPublisher } from "../core/audit/AuditPublisher.js";
import type { ApiKeyService } from "../core/auth/ApiKeyService.js";
import type { Clock } from "../core/clock.js";
import { KeyExpiryCheck } from "../core/expiry/KeyExpiryCheck.js";
import type { Logger } from "../core/logger.js";
import type { CredentialIssuer } from "../core/rotation/CredentialIssuer.js";
import { CredentialRotator } from "../core/rotation/CredentialRotator.js";
import type { IssuerKind } from "../core/rotation/managedCredential.js";
import type { RotationStateStore } from "../core/rotation/RotationStateStore.js";
import type { SecretStore } from "../core/secrets/SecretStore.js";
import { type AppServices, getAppServices } from "./appServices.js";
import type { Settings } from "./settings.js";
import { TABLES, createStorageClients } from "./storage.js";

/**
 * Settings only rotation reads. They belong in settings.ts (the lead moves them there); parsed here,
 * once, meanwhile.
 */
const rotationSettingsSchema = z.object({
  /** ARM's base URL (the mock ARM locally). */
  PALISADE_ARM_BASE_URL: z.string().url().default("https://management.azure.com"),
  /** The OpenAI Admin API (the mock locally). */
  PALISADE_OPENAI_ADMIN_BASE_URL: z.string().url().default("https://api.openai.com/v1"),
  /** Key Vault secret holding the OpenAI organization admin key; no OpenAI issuer without it. */
  PALISADE_OPENAI_ADMIN_KEY_SECRET: z.string().default("openai-admin-key"),
  /** How long one run holds a credential before another may resume it. */
  PALISADE_ROTATION_LEASE_IN_MS: z.coerce.number().int().nonnegative().default(10 * 60_000),
});
export type RotationSettings = z.infer<typeof rotationSettingsSchema>;

export function parseRotationSettings(environment: Readonly<Record<string, string | undefined>>): RotationSettings {
  const cleaned = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined && value.trim() !== ""));
  const result = rotationSettingsSchema.safeParse(cleaned);
  if (!result.success) {
    throw new Error(`Invalid rotation settings: ${result.error.issues.map((issue) => issue.path.join(".")).join(", ")}`);
  }
  return result.data;
}

export interface RotationServices {
  /** Null when no Key Vault is configured: nothing is managed then. */
  readonly rotator: CredentialRotator | null;
  readonly expiryCheck: KeyExpiryCheck;
  readonly secrets: SecretStore | null;
  readonly apiKeys: ApiKeyService;
  readonly states: RotationStateStore;
  readonly issuers: Partial<Record<IssuerKind, CredentialIssuer>>;
  readonly audit: AuditPublisher;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policyVersion: string;
  readonly newId: () => string;
}

type AppParts = Pick<AppServices, "settings" | "secrets" | "apiKeys" | "clock"> & {
  readonly audit: Pick<AppServices["audit"], "publisherFor" | "keyTrust">;
  readonly logger: Logger;
  readonly policy: Pick<AppServices["policy"], "version">;
  readonly telemetry?: Pick<AppServices["telemetry"], "keyExpiry">;
};

/** Wires rotation from the app's services: the same Key Vault, storage, audit publisher, clock and logger. */
export function createRotationServices(app: AppParts, rotationSettings: RotationSettings): RotationServices {
  const settings: Settings = app.settings;
  // Key regeneration runs under its own identity when one is configured (least privilege).
  const rotationCredential = createCredential({
    managedIdentityClientId: settings.PALISADE_ROTATION_CLIENT_ID ?? settings.AZURE_CLIENT_ID,
    local: settings.PALISADE_LOCAL_STACK,
  });
  const storage = createStorageClients(settings, createCredential({ managedIdentityClientId: settings.AZURE_CLIENT_ID, local: settings.PALISADE_LOCAL_STACK }));
  const states = new TableRotationStateStore(storage.table(TABLES.rotationState), { createTableIfMissing: settings.PALISADE_LOCAL_STACK });
  const secrets = app.secrets;

  const issuers: Partial<Record<IssuerKind, CredentialIssuer>> = {
    "azure-openai": new AzureOpenAiKeyIssuer({ credential: rotationCredential, armBaseUrl: rotationSettings.PALISADE_ARM_BASE_URL }),
    palisade: new PalisadeApiKeyIssuer(app.apiKeys, app.clock),
  };
  if (secrets !== null) {
    const admin = new OpenAiAdminClient({
      baseUrl: rotationSettings.PALISADE_OPENAI_ADMIN_BASE_URL,
      adminKey: async () => {
        const secret = await secrets.getSecret(rotationSettings.PALISADE_OPENAI_ADMIN_KEY_SECRET);
        if (secret === null) throw new Error(`Key Vault secret ${rotationSettings.PALISADE_OPENAI_ADMIN_KEY_SECRET} (the OpenAI admin key) is missing; see docs/rotation.md`);
        return secret.value;
      },
    });
    issuers.openai = new OpenAiServiceAccountKeyIssuer({ admin });
  }

  // Rotation events must not be lost, and a Service Bus outage must not stop a rotation halfway: outbox.
  const audit = app.audit.publisherFor("outbox");
  const policyVersion = app.policy.version;
  const rotator =
    secrets === null
      ? null
      : new CredentialRotator({
          secrets,
          states,
          issuers,
          audit,
          clock: app.clock,
          logger: app.logger,
          newId: randomUUID,
          policyVersion,
          leaseInMs: rotationSettings.PALISADE_ROTATION_LEASE_IN_MS,
        });
  const expiryCheck = new KeyExpiryCheck({
    secrets,
    apiKeys: app.apiKeys,
    // The pinned checkpoint-signing key (null without Key Vault): its expiry stops checkpoint signing.
    checkpointKey: app.audit.keyTrust,
    audit,
    clock: app.clock,
    logger: app.logger,
    newEventId: randomUUID,
    policyVersion,
    onInventory: (inventory) => app.telemetry?.keyExpiry.record(inventory),
  });
  return { rotator, expiryCheck, secrets, apiKeys: app.apiKeys, states, issuers, audit, clock: app.clock, logger: app.logger, policyVersion, newId: randomUUID };
}

let services: Promise<RotationServices> | undefined;

/** Rotation's services, built once per process on first use, on top of getAppServices(). */
export function getRotationServices(): Promise<RotationServices> {
  services ??= getAppServices()
    .then((app) => createRotationServices(app, parseRotationSettings(process.env)))
    .catch((error: unknown) => {
      services = undefined;
      throw error;
    });
  return services;
}
