import { TableClient } from "@azure/data-tables";
import { createDefaultHttpClient, type HttpClient, type PipelinePolicy, RestError } from "@azure/core-rest-pipeline";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditAppender } from "../../../src/core/audit/AuditAppender.js";
import { createEntry, GENESIS_HASH, type StoredEntry } from "../../../src/core/audit/ChainEntry.js";
import { sha256Hex } from "../../../src/core/audit/hashing.js";
import { silentLogger } from "../../../src/core/logger.js";
import { TableAuditLedger } from "../../../src/adapters/tables/TableAuditLedger.js";
import { makeAuditEvents } from "../../fakes/InMemoryAuditEvents.js";
import { type RunningAzurite } from "../../../local/azurite.js";
import { startAzurite } from "./azuriteStack.js";

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite.stop();
});

const clock = { nowInMs: () => Date.parse("2026-12-06T12:00:00.000Z") };

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The chain as stored: consecutive, each hash over its canonical bytes, each linked to the one before. */
function expectIntact(entries: readonly StoredEntry[]): void {
  let prev = GENESIS_HASH;
  entries.forEach((entry, index) => {
    expect(Number(entry.rowKey)).toBe(index);
    expect(entry.prevHash).toBe(prev);
    expect(sha256Hex(entry.canonical)).toBe(entry.hash);
    prev = entry.hash;
  });
}

/** Lets the first `$batch` through to Azurite, then loses its answer (or, `before`, loses the request itself). */
function losingFirstBatch(when: "before" | "after"): HttpClient & { lost: number } {
  const real = createDefaultHttpClient();
  const client = {
    lost: 0,
    async sendRequest(request: Parameters<HttpClient["sendRequest"]>[0]) {
      if (client.lost > 0 || !request.url.includes("$batch")) return real.sendRequest(request);
      client.lost += 1;
      if (when === "after") await real.sendRequest(request);
      throw new RestError("socket hang up", { code: "ECONNRESET", request });
    },
  };
  return client;
}

describe("TableAuditLedger: one entity-group transaction per commit, through the table's own pipeline", () => {
  it("sends ONE $batch request per commit through the client's policies, and the SDK reads back every row as written", async () => {
    const batches: string[] = [];
    const counting: PipelinePolicy = {
      name: "countBatches",
      sendRequest: (request, next) => {
        if (request.url.includes("$batch")) batches.push(request.method);
        return next(request);
      },
    };
    const table = TableClient.fromConnectionString(azurite.connectionString, `audit${Date.now()}`, { allowInsecureConnection: true, additionalPolicies: [{ policy: counting, position: "perCall" }] });
    const ledger = new TableAuditLedger(table);
    const appender = new AuditAppender({ ledger, clock, logger: silentLogger });
    const events = makeAuditEvents(120, { project: "p.one-two_3" });
    const outcomes = await appender.append(events.map((body) => ({ body })));
    expect(outcomes.map((o) => o.status)).toEqual(events.map(() => "appended"));
    // 120 events = 49 + 49 + 22: three transactions, nothing else posted.
    expect(batches).toEqual(["POST", "POST", "POST"]);
    const stored = await collect(ledger.listEntries("p.one-two_3"));
    expect(stored.map((e) => e.eventId)).toEqual(events.map((e) => e.eventId));
    expectIntact(stored);
    const head = await table.getEntity<Record<string, unknown>>("p.one-two_3", "head");
    expect(head).toMatchObject({ size: 120, lastHash: stored.at(-1)?.hash });
    expect(typeof head.size).toBe("number");
    const dedupe = await collect(ledger.listDedupe("p.one-two_3"));
    expect(dedupe).toHaveLength(120);
  });
});

describe("TableAuditLedger faults: nothing audited is lost or appended twice", () => {
  it.each(["after", "before"] as const)("a connection lost %s Azurite took the transaction (killed mid-append): the redelivery appends each event exactly once", async (when) => {
    const httpClient = losingFirstBatch(when);
    // No retries in the pipeline: the failure reaches the trigger, which abandons the delivery.
    const table = TableClient.fromConnectionString(azurite.connectionString, `killed${when}${Date.now()}`, { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
    const ledger = new TableAuditLedger(table, { httpClient });
    const appender = new AuditAppender({ ledger, clock, logger: silentLogger });
    const messages = makeAuditEvents(60, { project: "killed" }).map((body) => ({ body }));
    await expect(appender.append(messages)).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(httpClient.lost).toBe(1);
    const redelivered = await appender.append(messages);
    const statuses = redelivered.map((o) => o.status);
    // What the lost transaction committed (the first 49) comes back as duplicates, at its own sequence.
    const committedFirst = when === "after" ? 49 : 0;
    expect(statuses.filter((s) => s === "duplicate")).toHaveLength(committedFirst);
    expect(statuses.filter((s) => s === "appended")).toHaveLength(60 - committedFirst);
    const stored = await collect(ledger.listEntries("killed"));
    expect(stored.map((e) => e.eventId)).toEqual(messages.map((m) => m.body.eventId));
    expectIntact(stored);
  });

  it("with the pipeline's retry, a transaction whose answer was lost is sent again, conflicts on its own dedupe rows, and the same delivery completes: each event once", async () => {
    const httpClient = losingFirstBatch("after");
    const table = TableClient.fromConnectionString(azurite.connectionString, `retried${Date.now()}`, { allowInsecureConnection: true, retryOptions: { maxRetries: 1, retryDelayInMs: 10 } });
    const ledger = new TableAuditLedger(table, { httpClient });
    const appender = new AuditAppender({ ledger, clock, logger: silentLogger });
    const messages = makeAuditEvents(60, { project: "retried" }).map((body) => ({ body }));
    const statuses = (await appender.append(messages)).map((o) => o.status);
    expect(httpClient.lost).toBe(1);
    expect(statuses.filter((s) => s === "duplicate")).toHaveLength(49);
    expect(statuses.filter((s) => s === "appended")).toHaveLength(11);
    const stored = await collect(ledger.listEntries("retried"));
    expect(stored.map((e) => e.eventId)).toEqual(messages.map((m) => m.body.eventId));
    expectIntact(stored);
  });

  it("Table Storage down: the commit throws (the message is retried), never reports a conflict or a success", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const address = closed.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = azurite.connectionString.replace(/TableEndpoint=http:\/\/127\.0\.0\.1:\d+/, `TableEndpoint=http://127.0.0.1:${port}`);
    expect(down).not.toBe(azurite.connectionString);
    const table = TableClient.fromConnectionString(down, "AuditLog", { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
    const ledger = new TableAuditLedger(table, { createTableIfMissing: false });
    const [event] = makeAuditEvents(1, { project: "down" });
    const entry = createEntry({ chainId: "down", sequence: 0, ts: "2026-12-06T12:00:00.000Z", prevHash: GENESIS_HASH, event: event! });
    const commit = ledger.commit({ chainId: "down", expectedEtag: null, entries: [entry], head: { chainId: "down", size: 1, lastHash: entry.hash, updatedAt: entry.ts } });
    await expect(commit).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});
