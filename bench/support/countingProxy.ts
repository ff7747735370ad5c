import { Agent, type IncomingMessage, type Server, type ServerResponse, createServer, request } from "node:http";
import { type AddressInfo } from "node:net";
import { OperationTally } from "../../local/operationTally.js";
import { StageRecorder, type StageSummary } from "./stageTimings.js";

/**
 * A keep-alive HTTP proxy in front of Azurite's Table endpoint that counts what each call is on the
 * Table service's bill: entity-group transactions, queries, point reads, writes, table creation.
 * Azurite is a third-party server, so the count is taken on the wire instead of inside it.
 */
export interface CountingProxy {
  readonly url: string;
  operations(): Readonly<Record<string, number>>;
  /** How long Azurite took to answer (proxy to first response byte), by operation, since the last call. */
  latencies(): Record<string, StageSummary>;
  stop(): Promise<void>;
}

/** Table service operation of a request, as billed (one transaction each; a batch is one). */
export function tableOperationOf(method: string, path: string, query: string): string {
  if (path.includes("$batch")) return "table.transaction";
  const afterAccount = path.split("/").slice(2);
  const resource = afterAccount[0] ?? "";
  if (resource.startsWith("Tables")) return method === "GET" ? "table.listTables" : method === "DELETE" ? "table.deleteTable" : "table.createTable";
  const entityAddressed = /\(.+\)$/.test(resource);
  switch (method) {
    case "GET":
      return entityAddressed && !query.includes("$filter") ? "table.pointRead" : "table.query";
    case "POST":
      return "table.insert";
    case "DELETE":
      return "table.delete";
    default:
      return "table.upsert";
  }
}

export async function startCountingProxy(targetUrl: string): Promise<CountingProxy> {
  const target = new URL(targetUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const tally = new OperationTally();
  const latencies = new StageRecorder();
  const server: Server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    const url = new URL(incoming.url ?? "/", "http://proxy");
    const operation = tableOperationOf(incoming.method ?? "GET", url.pathname, url.search);
    tally.count(operation);
    const startedAt = performance.now();
    const upstream = request(
      { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: target.host }, agent },
      (answer) => {
        latencies.record(operation, performance.now() - startedAt);
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
        answer.on("error", () => outgoing.destroy());
      },
    );
    upstream.on("error", () => {
      tally.count("proxy.errors");
      if (!outgoing.headersSent) outgoing.writeHead(502);
      outgoing.end();
    });
    incoming.on("error", () => upstream.destroy());
    incoming.pipe(upstream);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    operations: () => tally.snapshot(),
    latencies: () => latencies.read(),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
