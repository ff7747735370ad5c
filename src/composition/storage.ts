import { TableClient } from "@azure/data-tables";
import { type TokenCredential } from "@azure/identity";
import { type BlobServiceClient } from "@azure/storage-blob";
import { type Settings } from "./settings.js";
import { type TableResilience } from "./tableResilience.js";

export interface StorageClients {
  table(name: string): TableClient;
  /** Blob Storage is for the appender's checkpoints and the nightly job: its SDK is imported on first use. */
  blobService(): Promise<BlobServiceClient>;
}

/** Connection string locally (Azurite), managed identity in Azure: no account keys in the cloud. */
export function createStorageClients(settings: Settings, credential: TokenCredential, resilience: TableResilience = {}): StorageClients {
  const connectionString = settings.AZURE_STORAGE_CONNECTION_STRING;
  if (connectionString) {
    const insecure = /(?:Table|Blob)Endpoint=http:/i.test(connectionString);
    return {
      table: (name) => TableClient.fromConnectionString(connectionString, name, { ...resilience, allowInsecureConnection: insecure }),
      blobService: async () => (await import("@azure/storage-blob")).BlobServiceClient.fromConnectionString(connectionString),
    };
  }
  const tableEndpoint = settings.AZURE_STORAGE_TABLE_ENDPOINT;
  const blobEndpoint = settings.AZURE_STORAGE_BLOB_ENDPOINT;
  if (!tableEndpoint || !blobEndpoint) throw new Error("set AZURE_STORAGE_TABLE_ENDPOINT and AZURE_STORAGE_BLOB_ENDPOINT (or AZURE_STORAGE_CONNECTION_STRING locally)");
  return {
    table: (name) => new TableClient(tableEndpoint, name, credential, resilience),
    blobService: async () => new (await import("@azure/storage-blob")).BlobServiceClient(blobEndpoint, credential),
  };
}

/** Table names the app uses (provisioned by infra in Azure, created on first use locally). */
export const TABLES = {
  apiKeys: "ApiKeys",
  usage: "UsageCounters",
  auditLog: "AuditLog",
  auditOutbox: "AuditOutbox",
  responseCache: "ResponseCache",
  rotationState: "RotationState",
  storedResponseOwners: "StoredResponseOwners",
} as const;
