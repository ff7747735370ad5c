import { createRequire } from "node:module";
import { indexAzuriteEntityKeys } from "./azuriteEntityKeyIndex.js";

/**
 * Azurite (Table and Blob) in this process, in memory, on free ports. `require("azurite")` itself
 * wants `vscode`, so the servers are loaded from their own modules. Telemetry lives only in
 * Azurite's CLI entry point, which is never loaded here.
 */

interface AzuriteServer {
  start(): Promise<void>;
  close(): Promise<void>;
  clean(): Promise<void>;
  getHttpServerAddress(): string;
}
type ServerConstructor = new (configuration: unknown) => AzuriteServer;
type ConfigurationConstructor = new (...args: unknown[]) => unknown;

const require = createRequire(import.meta.url);

export const DEVSTORE_ACCOUNT = "devstoreaccount1";
/** Azurite's well-known development key (public, documented by Microsoft; not a secret). */
export const DEVSTORE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface AzuriteOptions {
  readonly tablePort?: number;
  readonly blobPort?: number;
  readonly host?: string;
}

export interface RunningAzurite {
  readonly tableEndpoint: string;
  readonly blobEndpoint: string;
  /** Full connection string (UseDevelopmentStorage=true only works on the default ports). */
  readonly connectionString: string;
  stop(): Promise<void>;
}

function portOf(address: string): number {
  const port = Number(new URL(address).port);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`Azurite reported no port in "${address}"`);
  return port;
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const host = options.host ?? "127.0.0.1";
  if (process.env.PALISADE_AZURITE_KEY_INDEX !== "off") indexAzuriteEntityKeys();
  const TableServer = (require("azurite/dist/src/table/TableServer.js") as { default: ServerConstructor }).default;
  const TableConfiguration = (require("azurite/dist/src/table/TableConfiguration.js") as { default: ConfigurationConstructor }).default;
  const BlobServer = (require("azurite/dist/src/blob/BlobServer.js") as { default: ServerConstructor }).default;
  const BlobConfiguration = (require("azurite/dist/src/blob/BlobConfiguration.js") as { default: ConfigurationConstructor }).default;

  // Positional arguments as Azurite's own main.js passes them; the last `true` is in-memory persistence.
  const tableConfiguration = new TableConfiguration(
    host, options.tablePort ?? 0, undefined, ":memory:", false, false, undefined, undefined, false, true, "", "", "", undefined, false, true,
  );
  const blobConfiguration = new BlobConfiguration(
    host, options.blobPort ?? 0, undefined, ":memory:", ":memory:", [], false, undefined, false, undefined, false, true, "", "", "", undefined, false, true,
  );
  const table = new TableServer(tableConfiguration);
  const blob = new BlobServer(blobConfiguration);
  await Promise.all([table.start(), blob.start()]);

  const tableEndpoint = `http://${host}:${portOf(table.getHttpServerAddress())}/${DEVSTORE_ACCOUNT}`;
  const blobEndpoint = `http://${host}:${portOf(blob.getHttpServerAddress())}/${DEVSTORE_ACCOUNT}`;
  const connectionString = [
    "DefaultEndpointsProtocol=http",
    `AccountName=${DEVSTORE_ACCOUNT}`,
    `AccountKey=${DEVSTORE_KEY}`,
    `BlobEndpoint=${blobEndpoint}`,
    `TableEndpoint=${tableEndpoint}`,
  ].join(";");

  let stopped = false;
  return {
    tableEndpoint,
    blobEndpoint,
    connectionString,
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.allSettled([table.close(), blob.close()]);
    },
  };
}
