import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { JsonLogger } from "../adapters/logging/JsonLogger.js";
import { createCredential } from "../adapters/identity/createCredential.js";
import { TableApiKeyStore } from "../adapters/tables/TableApiKeyStore.js";
import { ApiKeyService } from "../core/auth/ApiKeyService.js";
import { type LoadedPolicy } from "../core/policy/parsePolicy.js";
import { type AuditComponents } from "./audit.js";
import { auditConfigFrom } from "./auditConfig.js";
import { loadPolicyFile } from "./loadPolicyFile.js";
import { type Settings, parseSettings } from "./settings.js";
import { type StorageClients, TABLES, createStorageClients } from "./storage.js";
import { systemClock } from "./systemClock.js";

/**
 * What operator commands need, built lazily from the same settings the app reads, so a command that
 * only validates a policy file never needs storage configured.
 */
export class CliServices {
  private settingsValue: Settings | undefined;
  private storageValue: StorageClients | undefined;
  private policyValue: Promise<LoadedPolicy> | undefined;
  private auditValue: Promise<AuditComponents> | undefined;

  constructor(private readonly environment: Readonly<Record<string, string | undefined>> = process.env) {}

  settings(): Settings {
    this.settingsValue ??= parseSettings(this.environment);
    return this.settingsValue;
  }

  storage(): StorageClients {
    const settings = this.settings();
    this.storageValue ??= createStorageClients(settings, createCredential({ managedIdentityClientId: settings.AZURE_CLIENT_ID, local: settings.PALISADE_LOCAL_STACK }));
    return this.storageValue;
  }

  policy(): Promise<LoadedPolicy> {
    this.policyValue ??= loadPolicyFile(this.environment.PALISADE_POLICY ?? "config/policy.sample.yaml");
    return this.policyValue;
  }

  audit(): Promise<AuditComponents> {
    this.auditValue ??= (async () => {
      const settings = this.settings();
      const credential = createCredential({ managedIdentityClientId: settings.AZURE_CLIENT_ID, local: settings.PALISADE_LOCAL_STACK });
      const caCertPem = settings.AZURE_KEYVAULT_CA_CERT ? await readFile(settings.AZURE_KEYVAULT_CA_CERT, "utf8") : undefined;
      // Service Bus is loaded by the commands that publish, not by every `palisade` start (`palisade host` included).
      const { createAuditComponents } = await import("./audit.js");
      return createAuditComponents(auditConfigFrom(settings, { credential, caCertPem, clock: systemClock, logger: new JsonLogger("warn") }));
    })();
    return this.auditValue;
  }

  /** Releases connections (Service Bus) so a command's process can exit. */
  async close(): Promise<void> {
    if (this.auditValue) await (await this.auditValue).close();
  }

  async apiKeyService(): Promise<ApiKeyService> {
    return new ApiKeyService({ store: new TableApiKeyStore(this.storage().table(TABLES.apiKeys)), clock: systemClock, random: (bytes) => randomBytes(bytes) });
  }
}
