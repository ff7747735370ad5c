import { TableClient, type TransactionAction } from "@azure/data-tables";
import { performance } from "node:perf_hooks";
import { startAzurite } from "../local/azurite.js";
import { startSeparateAzurite } from "./support/separateAzurite.js";
import { measureCheckpointCost } from "./support/checkpointCost.js";
import { TableAuditLedger } from "../src/adapters/tables/TableAuditLedger.js";
import { AuditAppender } from "../src/core/audit/AuditAppender.js";
import { type AuditEvent } from "../src/core/audit/AuditEvent.js";
import { benchAuditEvent } from "./support/benchAuditEvent.js";
import { createEntry, GENESIS_HASH, type StoredEntry } from "../src/core/audit/ChainEntry.js";
import { HEAD_ROW_KEY, toDedupeEntity, toEntryEntity, toHeadEntity } from "../src/adapters/tables/audit/auditEntities.js";
import { sha256 } from "../src/core/audit/hashing.js";
import { leafHash, MerkleAccumulator } from "../src/core/audit/merkle.js";
import { verifyChain } from "../src/core/audit/verifyChain.js";
import { type Clock } from "../src/core/clock.js";
import { silentLogger } from "../src/core/logger.js";

/**
 * The audit chain on Azurite. The append figures are measured twice: with Azurite in this process
 * (the headline, comparable with earlier runs), and with Azurite in its own process pinned to the
 * other core when `taskset` exists (`...Apart`, as Table Storage is a separate service in Azure).
 * Apart, one chain is slower (each of its strictly sequential transactions now crosses processes
 * and cores) while 8 chains are faster (the appender and Azurite no longer share one CPU).
 * - appendPerSecond: events/s appended to ONE chain (messages in batches of 100, as the trigger
 *   gets them; 49 events per entity-group transaction; the transaction itself rejects a duplicate).
 * - appendPerSecond8Chains: total events/s with 8 chains appended in parallel.
 * - appendCeilingPerSecond: what Azurite itself allows for the same rows: the same transactions
 *   (49 entries + 49 dedupe rows + head with If-Match) with every entity built beforehand, on a fresh
 *   chain of the same length. Azurite checks each insert by scanning the partition, so both figures
 *   fall as the chain grows; appendPerSecond / appendCeilingPerSecond is the appender's own overhead.
 * - readPerSecond: entries/s listed back from Table Storage.
 * - verifyPerSecond: entries/s for the hash recomputation on entries already in memory: SHA-256 of
 *   each entry's canonical bytes, the link to its predecessor, its Merkle leaf hash and the running
 *   RFC 6962 root (reading is measured separately, above).
 * - fullVerifyPerSecond: entries/s through the whole verifier (adds JSON parse, re-canonicalisation
 *   and the column checks), also in memory. Azurite is stopped first so it does not share the CPU.
 * - checkpoint*: one checkpoint of 1,000 new entries as the appender signs it, from the hashes it
 *   committed (`...FromCommitted`) and by reading them back (`...ReadBack`, the read path), alternated
 *   in one process (support/checkpointCost.ts): this process's CPU (µs, median) and Table requests.
 */

const systemClock: Clock = { nowInMs: () => Date.now() };
const MESSAGES_PER_DELIVERY = 100;

const event = (project: string, i: number): AuditEvent => benchAuditEvent(project, i, new Date(Date.UTC(2026, 0, 1) + i).toISOString());

async function appendChain(appender: AuditAppender, project: string, count: number): Promise<void> {
  for (let offset = 0; offset < count; offset += MESSAGES_PER_DELIVERY) {
    const batch = Array.from({ length: Math.min(MESSAGES_PER_DELIVERY, count - offset) }, (_, i) => ({ body: event(project, offset + i) }));
    const outcomes = await appender.append(batch);
    if (outcomes.some((o) => o.status !== "appended")) throw new Error("bench append failed");
  }
}

/** Azurite's own rate for the append's rows: pre-built entities, the same transactions, nothing else. */
async function rawCeiling(table: TableClient, chainId: string, count: number): Promise<number> {
  const entries: StoredEntry[] = [];
  let prevHash = GENESIS_HASH;
  const ts = new Date().toISOString();
  for (let sequence = 0; sequence < count; sequence += 1) {
    const entry = createEntry({ chainId, sequence, ts, prevHash, event: event(chainId, sequence) });
    entries.push(entry);
    prevHash = entry.hash;
  }
  const transactions = [];
  for (let offset = 0; offset < count; offset += 49) {
    const chunk = entries.slice(offset, offset + 49);
    const last = chunk.at(-1) as StoredEntry;
    const actions: TransactionAction[] = chunk.flatMap((e): TransactionAction[] => [["create", toEntryEntity(e)], ["create", toDedupeEntity(e)]]);
    transactions.push({ actions, head: toHeadEntity({ chainId, size: offset + chunk.length, lastHash: last.hash, updatedAt: ts }) });
  }
  const started = performance.now();
  let etag: string | undefined;
  for (const { actions, head } of transactions) {
    const response = await table.submitTransaction([...actions, etag === undefined ? ["create", head] : ["update", head, "Replace", { etag }]]);
    // As TableAuditLedger.commit: the head is the last sub-response.
    etag = response.getResponseForEntity(HEAD_ROW_KEY)?.etag ?? response.subResponses.at(-1)?.etag;
    if (etag === undefined) throw new Error("no head etag");
  }
  return count / ((performance.now() - started) / 1000);
}

async function* inMemory(entries: readonly StoredEntry[]): AsyncIterable<StoredEntry> {
  yield* entries;
}

interface AppendFigures {
  readonly appendPerSecond: number;
  readonly appendPerSecond8Chains: number;
  readonly appendCeilingPerSecond: number;
}

async function measureAppends(connectionString: string, perChain: number, perChain8: number): Promise<{ figures: AppendFigures; ledger: TableAuditLedger }> {
  const table = TableClient.fromConnectionString(connectionString, "AuditBench", { allowInsecureConnection: true });
  // As composed for the local stack (see createAuditComponents): dedupe look-ups by or-query on Azurite.
  const ledger = new TableAuditLedger(table, { dedupeLookup: "orQuery" });
  const appender = new AuditAppender({ ledger, clock: systemClock, logger: silentLogger });
  await appendChain(appender, "warmup", 200);

  let started = performance.now();
  await appendChain(appender, "one", perChain);
  const appendPerSecond = perChain / ((performance.now() - started) / 1000);

  started = performance.now();
  await Promise.all(Array.from({ length: 8 }, (_, i) => appendChain(appender, `multi-${i}`, perChain8)));
  const appendPerSecond8Chains = (8 * perChain8) / ((performance.now() - started) / 1000);

  const appendCeilingPerSecond = await rawCeiling(table, "raw", perChain);
  return { figures: { appendPerSecond, appendPerSecond8Chains, appendCeilingPerSecond }, ledger };
}

export async function runAuditBench(options: { quick: boolean }): Promise<Record<string, number>> {
  const perChain = options.quick ? 1_000 : 5_000;
  const perChain8 = options.quick ? 250 : 1_250;
  // First with Azurite in its own process (on the other core when pinning is possible), then in this one.
  const separate = await startSeparateAzurite();
  let apart: AppendFigures;
  try {
    apart = (await measureAppends(separate.connectionString, perChain, perChain8)).figures;
  } finally {
    await separate.stop();
  }
  const checkpoint = await measureCheckpointCost(options.quick ? 4 : 10);
  const azurite = await startAzurite();
  try {
    const { figures: shared, ledger } = await measureAppends(azurite.connectionString, perChain, perChain8);
    let started = performance.now();
    const entries: StoredEntry[] = [];
    for await (const entry of ledger.listEntries("one")) entries.push(entry);
    const readPerSecond = entries.length / ((performance.now() - started) / 1000);
    if (entries.length !== perChain) throw new Error(`read ${entries.length} of ${perChain}`);

    const head = await ledger.getHead("one");
    await azurite.stop();

    // CPU-only measurements over a larger in-memory chain (the stored entries, repeated).
    const rounds = options.quick ? 5 : 20;
    started = performance.now();
    for (let r = 0; r < rounds; r += 1) {
      let previous = GENESIS_HASH;
      const accumulator = new MerkleAccumulator();
      for (const entry of entries) {
        const digest = sha256(entry.canonical);
        if (entry.prevHash !== previous || digest.toString("hex") !== entry.hash) throw new Error("hash mismatch");
        accumulator.push(leafHash(digest));
        previous = entry.hash;
      }
      if (accumulator.size !== entries.length) throw new Error("lost entries");
    }
    const verifyPerSecond = (rounds * entries.length) / ((performance.now() - started) / 1000);

    const verifier = { verify: async () => true };
    started = performance.now();
    for (let r = 0; r < rounds; r += 1) {
      const result = await verifyChain({ chainId: "one", head, entries: inMemory(entries), checkpoints: [], signatureVerifier: verifier });
      if (!result.intact) throw new Error(result.message);
    }
    const fullVerifyPerSecond = (rounds * entries.length) / ((performance.now() - started) / 1000);

    const round = (n: number): number => Math.round(n);
    return {
      appendPerSecond: round(shared.appendPerSecond),
      appendPerSecond8Chains: round(shared.appendPerSecond8Chains),
      appendCeilingPerSecond: round(shared.appendCeilingPerSecond),
      appendPerSecondApart: round(apart.appendPerSecond),
      appendPerSecond8ChainsApart: round(apart.appendPerSecond8Chains),
      appendCeilingPerSecondApart: round(apart.appendCeilingPerSecond),
      azuritePinnedApart: separate.pinned ? 1 : 0,
      readPerSecond: round(readPerSecond),
      verifyPerSecond: round(verifyPerSecond),
      fullVerifyPerSecond: round(fullVerifyPerSecond),
      checkpointCpuMicrosFromCommitted: checkpoint.fromCommitted.cpuMicrosMedian,
      checkpointCpuMicrosReadBack: checkpoint.readBack.cpuMicrosMedian,
      checkpointTableRequestsFromCommitted: checkpoint.fromCommitted.tableRequestsMedian,
      checkpointTableRequestsReadBack: checkpoint.readBack.tableRequestsMedian,
    };
  } finally {
    await azurite.stop();
  }
}
