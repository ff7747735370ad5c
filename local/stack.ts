import { SecretClient } from "@azure/keyvault-secrets";
import { randomBytes } from "node:crypto";
import { LocalDevelopmentCredential } from "../src/adapters/identity/LocalDevelopmentCredential.js";
import { keyVaultClientOptions } from "../src/adapters/keyvault/keyVaultClientOptions.js";
import { type RunningAzurite, startAzurite } from "./azurite.js";
import { type RunningContentSafetyEmulator, startContentSafetyEmulator } from "./contentsafety/index.js";
import { type RunningKeyVaultEmulator, startKeyVaultEmulator } from "./keyvault/index.js";
import { type RunningServiceBusEmulator, startServiceBusEmulator } from "./servicebus/index.js";

export const AUDIT_QUEUE = "audit-events";
/** PALISADE_AUDIT_DIGEST_SECRET's default. */
const AUDIT_DIGEST_SECRET = "audit-digest-key";

export interface LocalStackOptions {
  /** Where the Key Vault emulator writes its certificate. */
  readonly stateDirectory?: string;
  readonly auditQueue?: string;
}

/** What stands in for Azure: Azurite, the Service Bus and Key Vault emulators, all on free ports. */
export interface LocalStack {
  readonly azurite: RunningAzurite;
  readonly serviceBus: RunningServiceBusEmulator;
  readonly keyVault: RunningKeyVaultEmulator;
  readonly contentSafety: RunningContentSafetyEmulator;
  /** The settings the app and the CLI read to use this stack (what `npm start` prints). */
  readonly environment: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const auditQueue = options.auditQueue ?? AUDIT_QUEUE;
  const [azurite, serviceBus, keyVault, contentSafety] = await Promise.all([
    startAzurite(),
    // Lock duration and delivery count as infra/ sets them on the real queue.
    startServiceBusEmulator({ queues: [{ name: auditQueue, requiresSession: true, lockDurationInMs: 60_000, maxDeliveryCount: 10 }] }),
    startKeyVaultEmulator(options.stateDirectory ? { certDir: options.stateDirectory } : {}),
    startContentSafetyEmulator(),
  ]);
  // The audit digest key exists before any instance starts, as deploy docs have operators seed it in
  // Azure: instances starting together must not each create their own.
  const secrets = new SecretClient(keyVault.vaultUrl, new LocalDevelopmentCredential(), keyVaultClientOptions({ caCertPem: keyVault.caCertPem }));
  await secrets.setSecret(AUDIT_DIGEST_SECRET, randomBytes(32).toString("base64"), { contentType: "application/octet-stream;base64", tags: { purpose: "audit-digest" } });
  const environment: Record<string, string> = {
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    SERVICEBUS_CONNECTION_STRING: serviceBus.connectionString,
    // The Functions binding's connection setting (`connection: "ServiceBus"`).
    ServiceBus: serviceBus.connectionString,
    SERVICEBUS_AUDIT_QUEUE: auditQueue,
    AZURE_KEYVAULT_URL: keyVault.vaultUrl,
    AZURE_KEYVAULT_CA_CERT: keyVault.caCertPath,
    CONTENT_SAFETY_ENDPOINT: contentSafety.endpoint,
    CONTENT_SAFETY_KEY: contentSafety.key,
    PALISADE_LOCAL_STACK: "true",
  };
  return {
    azurite,
    serviceBus,
    keyVault,
    contentSafety,
    environment,
    async stop() {
      await Promise.allSettled([azurite.stop(), serviceBus.stop(), keyVault.stop(), contentSafety.stop()]);
    },
  };
}
