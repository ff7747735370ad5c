import { SecretClient } from "@azure/keyvault-secrets";
import { randomBytes } from "node:crypto";
import { LocalDevelopmentCredential } from "../src/adapters/identity/LocalDevelopmentCredential.js";
import { keyVaultClientOptions } from "../src/adapters/keyvault/keyVaultClientOptions.js";
import { type RunningAzurite, startAzurite } from "./azurite.js";
import { type RunningContentSafetyEmulator, startContentSafetyEmulator } from "./contentsafety/index.js";
import { type RunningKeyVaultEmulator, startKeyVaultEmulator } from "./keyvault/index.js";
import { type RunningServiceBusEmulator, startServiceBusEmulator } from "./servicebus/index.js";

import { AUDIT_QUEUE, auditQueueDefinition } from "./auditQueue.js";

export { AUDIT_QUEUE } from "./auditQueue.js";
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

/** What clients need to reach the stack: the parts of each emulator `stackEnvironment` reads. */
export interface StackEndpoints {
  readonly azurite: Pick<RunningAzurite, "connectionString">;
  readonly serviceBus: Pick<RunningServiceBusEmulator, "connectionString">;
  readonly keyVault: Pick<RunningKeyVaultEmulator, "vaultUrl" | "caCertPath">;
  readonly contentSafety: Pick<RunningContentSafetyEmulator, "endpoint" | "key">;
}

/** The settings the app and the CLI read to use a stack (what `npm start` prints). */
export function stackEnvironment(stack: StackEndpoints, auditQueue: string): Record<string, string> {
  return {
    AZURE_STORAGE_CONNECTION_STRING: stack.azurite.connectionString,
    SERVICEBUS_CONNECTION_STRING: stack.serviceBus.connectionString,
    // The Functions binding's connection setting (`connection: "ServiceBus"`).
    ServiceBus: stack.serviceBus.connectionString,
    SERVICEBUS_AUDIT_QUEUE: auditQueue,
    AZURE_KEYVAULT_URL: stack.keyVault.vaultUrl,
    AZURE_KEYVAULT_CA_CERT: stack.keyVault.caCertPath,
    CONTENT_SAFETY_ENDPOINT: stack.contentSafety.endpoint,
    CONTENT_SAFETY_KEY: stack.contentSafety.key,
    PALISADE_LOCAL_STACK: "true",
  };
}

/**
 * The audit digest key exists before any instance starts, as deploy docs have operators seed it in
 * Azure: instances starting together must not each create their own.
 */
export async function seedAuditDigestSecret(keyVault: Pick<RunningKeyVaultEmulator, "vaultUrl" | "caCertPem">): Promise<void> {
  const secrets = new SecretClient(keyVault.vaultUrl, new LocalDevelopmentCredential(), keyVaultClientOptions({ caCertPem: keyVault.caCertPem }));
  await secrets.setSecret(AUDIT_DIGEST_SECRET, randomBytes(32).toString("base64"), { contentType: "application/octet-stream;base64", tags: { purpose: "audit-digest" } });
}

/**
 * The stack in this process, on this event loop: for tests and benches that reach into the emulators
 * (fault injection, queue internals). `npm start` runs each emulator in a thread of its own instead
 * (local/isolatedStack.ts).
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const auditQueue = options.auditQueue ?? AUDIT_QUEUE;
  const [azurite, serviceBus, keyVault, contentSafety] = await Promise.all([
    startAzurite(),
    startServiceBusEmulator({ queues: [auditQueueDefinition(auditQueue)] }),
    startKeyVaultEmulator(options.stateDirectory ? { certDir: options.stateDirectory } : {}),
    startContentSafetyEmulator(),
  ]);
  await seedAuditDigestSecret(keyVault);
  return {
    azurite,
    serviceBus,
    keyVault,
    contentSafety,
    environment: stackEnvironment({ azurite, serviceBus, keyVault, contentSafety }, auditQueue),
    async stop() {
      await Promise.allSettled([azurite.stop(), serviceBus.stop(), keyVault.stop(), contentSafety.stop()]);
    },
  };
}
