import { type TokenCredential } from "@azure/identity";
import { type Clock } from "../core/clock.js";
import { type Logger } from "../core/logger.js";
import { type AuditConfig } from "./audit.js";
import { type Settings } from "./settings.js";
import { type TableResilience } from "./tableResilience.js";

/** Maps the app's settings to the audit pipeline's configuration; the app and the CLI share it. */
export function auditConfigFrom(
  settings: Settings,
  deps: { credential: TokenCredential; caCertPem: string | undefined; clock: Clock; logger: Logger; observeOutbox?: AuditConfig["observeOutbox"]; tableOptions?: TableResilience },
): AuditConfig {
  const { credential, caCertPem } = deps;
  return {
    storage: settings.AZURE_STORAGE_CONNECTION_STRING
      ? { connectionString: settings.AZURE_STORAGE_CONNECTION_STRING }
      : { tableEndpoint: settings.AZURE_STORAGE_TABLE_ENDPOINT ?? "", blobEndpoint: settings.AZURE_STORAGE_BLOB_ENDPOINT ?? "", credential },
    ...(settings.AZURE_KEYVAULT_URL ? { keyVault: { url: settings.AZURE_KEYVAULT_URL, credential, ...(caCertPem ? { caCertPem } : {}) } } : {}),
    checkpointKeyName: settings.PALISADE_CHECKPOINT_KEY,
    checkpointContainer: settings.PALISADE_CHECKPOINT_CONTAINER,
    checkpointEvery: settings.PALISADE_CHECKPOINT_EVERY,
    checkpointEveryInMs: settings.PALISADE_CHECKPOINT_EVERY_IN_MS,
    giveWayInMs: settings.PALISADE_AUDIT_GIVE_WAY_IN_MS,
    ...(settings.SERVICEBUS_CONNECTION_STRING
      ? { serviceBus: { connectionString: settings.SERVICEBUS_CONNECTION_STRING } }
      : settings.SERVICEBUS_FULLY_QUALIFIED_NAMESPACE
        ? { serviceBus: { fullyQualifiedNamespace: settings.SERVICEBUS_FULLY_QUALIFIED_NAMESPACE, credential } }
        : {}),
    auditQueue: settings.SERVICEBUS_AUDIT_QUEUE,
    publishTimeoutInMs: settings.PALISADE_AUDIT_PUBLISH_TIMEOUT_IN_MS,
    breakerOpenForInMs: settings.PALISADE_DEPENDENCY_OPEN_FOR_IN_MS,
    appendHoldInMs: settings.PALISADE_AUDIT_APPEND_HOLD_IN_MS,
    ...(deps.tableOptions ? { tableOptions: deps.tableOptions } : {}),
    ...(settings.PALISADE_AUDIT_APPEND_WORKER === "on"
      ? {
          appendWorker: {
            timeoutInMs: settings.PALISADE_AUDIT_APPEND_WORKER_TIMEOUT_IN_MS,
            credential: { local: settings.PALISADE_LOCAL_STACK, ...(settings.AZURE_CLIENT_ID ? { managedIdentityClientId: settings.AZURE_CLIENT_ID } : {}) },
            ...(deps.tableOptions
              ? {
                  bounds: {
                    maxRetries: settings.PALISADE_STORAGE_MAX_RETRIES,
                    retryDelayInMs: settings.PALISADE_STORAGE_RETRY_DELAY_IN_MS,
                    tryTimeoutInMs: settings.PALISADE_STORAGE_TRY_TIMEOUT_IN_MS,
                    openForInMs: settings.PALISADE_DEPENDENCY_OPEN_FOR_IN_MS,
                  },
                }
              : {}),
          },
        }
      : {}),
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.observeOutbox ? { observeOutbox: deps.observeOutbox } : {}),
  };
}
