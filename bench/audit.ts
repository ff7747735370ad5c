import { TableClient } from "@azure/data-tables";
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { startAzurite } from "../local/azurite.js";
import { TableAuditLedger } from "../src/adapters/tables/TableAuditLedger.js";
import { AuditAppender } from "../src/core/audit/AuditAppender.js";
import { type AuditEvent } from "../src/core/audit/AuditEvent.js";
import { GENESIS_HASH, type StoredEntry } from "../src/core/audit/ChainEntry.js";
import { sha256 } from "../src/core/audit/hashing.js";
import { leafHash, MerkleAccumulator } from "../src/core/audit/merkle.js";
import { verifyChain } from "../src/core/audit/verifyChain.js";
import { type Clock } from "../src/core/clock.js";
import { silentLogger } from "../src/core/logger.js";

/**
 * The audit chain on Azurite in this process:
 * - appendPerSecond: events/s appended to ONE chain (messages in batches of 100, as the trigger
 *   gets them; 49 events per entity-group transaction, with the dedupe pre-check).
 * - appendPerSecond8Chains: total events/s with 8 chains appended in parallel.
 * - readPerSecond: entries/s listed back from Table Storage.
 * - verifyPerSecond: entries/s for the hash recomputation on entries already in memory: SHA-256 of
 *   each entry's canonical bytes, the link to its predecessor, its Merkle leaf hash and the running
 *   RFC 6962 root (reading is measured separately, above).
 * - fullVerifyPerSecond: entries/s through the whole verifier (adds JSON parse, re-canonicalisation
 *   and the column checks), also in memory. Azurite is stopped first so it does not share the CPU.
 */

const systemClock: Clock = { nowInMs: () => Date.now() };
const MESSAGES_PER_DELIVERY = 100;

function event(project: string, i: number): AuditEvent {
  return {
    schemaVersion: 1,
    eventId: randomUUID(),
    ts: new Date(Date.UTC(2026, 0, 1) + i).toISOString(),
    type: "api_call",
    actor: { kind: "service-account", id: `svc-${i % 7}`, keyId: "key-1" },
    project,
    environment: "prod",
    model: "gpt-4o",
    deployment: "gpt4o",
    endpointId: "weu-1",
    region: "westeurope",
    classification: "internal",
    status: "success",
    httpStatus: 200,
    tokens: { input: 812, output: 214 },
    costUsd: 0.00417,
    latencyInMs: 843,
    dlpFindings: { email: 1 },
    dlpAction: "redact",
    requestId: randomUUID(),
    policyVersion: "9f".repeat(32),
    contentDigest: "ab".repeat(32),
  };
}

async function appendChain(appender: AuditAppender, project: string, count: number): Promise<void> {
  for (let offset = 0; offset < count; offset += MESSAGES_PER_DELIVERY) {
    const batch = Array.from({ length: Math.min(MESSAGES_PER_DELIVERY, count - offset) }, (_, i) => ({ body: event(project, offset + i) }));
    const outcomes = await appender.append(batch);
    if (outcomes.some((o) => o.status !== "appended")) throw new Error("bench append failed");
  }
}

async function* inMemory(entries: readonly StoredEntry[]): AsyncIterable<StoredEntry> {
  yield* entries;
}

export async function runAuditBench(options: { quick: boolean }): Promise<Record<string, number>> {
  const perChain = options.quick ? 1_000 : 5_000;
  const perChain8 = options.quick ? 250 : 1_250;
  const azurite = await startAzurite();
  try {
    const table = TableClient.fromConnectionString(azurite.connectionString, "AuditBench", { allowInsecureConnection: true });
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

    started = performance.now();
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
      appendPerSecond: round(appendPerSecond),
      appendPerSecond8Chains: round(appendPerSecond8Chains),
      readPerSecond: round(readPerSecond),
      verifyPerSecond: round(verifyPerSecond),
      fullVerifyPerSecond: round(fullVerifyPerSecond),
    };
  } finally {
    await azurite.stop();
  }
}
