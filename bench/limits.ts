import { TableClient } from "@azure/data-tables";
import { performance } from "node:perf_hooks";
import { startAzurite } from "../local/azurite.js";
import { TableUsageCounterStore } from "../src/adapters/tables/TableUsageCounterStore.js";
import { type Clock } from "../src/core/clock.js";
import { createChatOperation } from "../src/core/gateway/operations/chat/chatOperation.js";
import { type ChatMessageForCount } from "../src/core/limits/estimatePromptTokens.js";
import { LimitGuard, type ReserveInput } from "../src/core/limits/LimitGuard.js";
import { silentLogger } from "../src/core/logger.js";
import { type Policy, policySchema } from "../src/core/policy/schema.js";
import { type UpstreamProvider } from "../src/core/upstream/UpstreamProvider.js";
import { DEPLOYMENT, REQUEST_BODY } from "./gateway.js";

/**
 * What the limit check adds to a request, on Azurite in this process:
 * - limitCheck{P50,P99}Ms: reserve + settle, one caller after another (no contention), with every
 *   kind of counter on (project and service-account RPM/TPM, daily and monthly budget, two tags).
 * - reserve{P50,P99}Ms: the part before the upstream call.
 * - contended{1,4}Instance(s)Rps: accepted requests per second (reserve + settle) with 32
 *   concurrent callers on ONE project, from one store instance and spread over four.
 * - conflictsPerRequest4Instances: ETag conflicts (retried rounds) per request across four instances.
 * - promptEstimate{Repeated,NewQuestion,AllNew}Micros: CPU µs per `estimatePromptTokens` of the gateway
 *   bench's chat (a system prompt and a 300-character question): the same chat again, the same system
 *   prompt with a new question each time (an app's usual traffic), and both messages new each time.
 */

const systemClock: Clock = { nowInMs: () => Date.now() };

function benchPolicy(): Policy {
  return policySchema.parse({
    version: 1,
    projects: [
      {
        id: "bench",
        residency: "eu",
        models: [{ name: "gpt-4o", deployment: "gpt4o" }],
        limits: { requestsPerMinute: 10_000_000, tokensPerMinute: 2_000_000_000 },
        budget: { dailyUsd: 1_000_000, monthlyUsd: 10_000_000 },
        tags: { team: "bench", costCentre: "cc-1" },
      },
    ],
    serviceAccounts: [{ id: "svc", project: "bench", permissions: ["chat.completions"], limits: { requestsPerMinute: 10_000_000 } }],
    endpoints: [{ id: "e", provider: "azure", baseUrl: "https://e.example.invalid", region: "r", residency: "eu", class: "standard", deployments: ["gpt4o"] }],
    pricing: { gpt4o: { inputPer1M: 2.5, outputPer1M: 10 } },
  });
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return Math.round((sorted[index] ?? Number.NaN) * 1000) / 1000;
}

const unused = (): never => {
  throw new Error("the limits bench never calls the upstream");
};
/** The chat operation, for the input-token estimate the request path makes (`estimateInputTokens`). */
const upstream: UpstreamProvider = { complete: unused, stream: unused, createEmbeddings: unused, createResponse: unused, streamResponse: unused, callStoredResponse: unused, streamStoredResponse: unused, compactResponse: unused, countInputTokens: unused };
const chatOperation = createChatOperation(upstream);

/** CPU µs per input-token estimate of a chat request, over `rounds` calls (chat i is `chatFor(i)`; parsed before the clock starts). */
function estimateMicros(rounds: number, chatFor: (round: number) => readonly ChatMessageForCount[]): number {
  const requests = Array.from({ length: rounds }, (_, round) => chatOperation.parse({ model: DEPLOYMENT, messages: chatFor(round) }));
  const started = process.cpuUsage();
  for (const request of requests) chatOperation.estimateInputTokens(request);
  const used = process.cpuUsage(started);
  return Math.round(((used.user + used.system) / rounds) * 10) / 10;
}

function measurePromptEstimate(rounds: number): Record<string, number> {
  const chat = (JSON.parse(REQUEST_BODY) as { messages: { role: string; content: string }[] }).messages;
  const [system, question] = chat;
  if (system === undefined || question === undefined) throw new Error("the gateway bench's chat has two messages");
  const withQuestion = (round: number, systemPrompt: string): ChatMessageForCount[] => [
    { role: system.role, content: systemPrompt },
    { role: question.role, content: `${question.content} (variant ${round})` },
  ];
  estimateMicros(2_000, (round) => withQuestion(round, `${system.content} (warm-up ${round})`)); // warm the JIT and the count memo's paths
  return {
    promptEstimateRepeatedMicros: estimateMicros(rounds, () => chat),
    promptEstimateNewQuestionMicros: estimateMicros(rounds, (round) => withQuestion(round, system.content)),
    promptEstimateAllNewMicros: estimateMicros(rounds, (round) => withQuestion(round, `${system.content} (variant ${round})`)),
  };
}

export async function runLimitsBench(options: { quick: boolean }): Promise<Record<string, number>> {
  const promptEstimate = measurePromptEstimate(options.quick ? 2_000 : 10_000);
  const azurite = await startAzurite();
  try {
    const policy = benchPolicy();
    const project = policy.projects[0];
    const serviceAccount = policy.serviceAccounts[0];
    if (project === undefined || serviceAccount === undefined) throw new Error("bench policy is incomplete");
    const input: ReserveInput = { project, serviceAccount, keyId: "key-1", model: "gpt-4o", deployment: "gpt4o", estimatedPromptTokens: 800, maxOutputTokens: 400 };
    const usage = { inputTokens: 790, outputTokens: 150 };
    const newStore = (table: string): TableUsageCounterStore =>
      new TableUsageCounterStore(TableClient.fromConnectionString(azurite.connectionString, table, { allowInsecureConnection: true }));

    // 1. Latency, one caller.
    const sequential = newStore("BenchSequential");
    await sequential.createTable();
    const guard = new LimitGuard({ store: sequential, clock: systemClock, policy, logger: silentLogger });
    const warmup = options.quick ? 20 : 100;
    const samples = options.quick ? 200 : 1000;
    const total: number[] = [];
    const reserveOnly: number[] = [];
    for (let index = 0; index < warmup + samples; index++) {
      const started = performance.now();
      const reservation = await guard.reserve(input);
      const reserved = performance.now();
      await guard.settle(reservation, usage);
      const done = performance.now();
      if (index >= warmup) {
        total.push(done - started);
        reserveOnly.push(reserved - started);
      }
    }
    total.sort((a, b) => a - b);
    reserveOnly.sort((a, b) => a - b);

    // 2. Throughput under contention: 32 callers on one project.
    const callers = 32;
    const perCaller = options.quick ? 20 : 100;
    const contended = async (instanceCount: number, table: string): Promise<{ rps: number; conflictsPerRequest: number }> => {
      const stores = Array.from({ length: instanceCount }, () => newStore(table));
      await stores[0]?.createTable();
      const guards = stores.map((store) => new LimitGuard({ store, clock: systemClock, policy, logger: silentLogger }));
      let accepted = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: callers }, async (_, caller) => {
          const callerGuard = guards[caller % guards.length];
          if (callerGuard === undefined) return;
          for (let index = 0; index < perCaller; index++) {
            const reservation = await callerGuard.reserve({ ...input, keyId: `key-${caller % 4}` });
            await callerGuard.settle(reservation, usage);
            accepted++;
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const conflicts = stores.reduce((sum, store) => sum + store.conflicts, 0);
      return { rps: Math.round(accepted / seconds), conflictsPerRequest: Math.round((conflicts / accepted) * 1000) / 1000 };
    };
    const one = await contended(1, "BenchContended1");
    const four = await contended(4, "BenchContended4");

    return {
      limitCheckP50Ms: percentile(total, 0.5),
      limitCheckP99Ms: percentile(total, 0.99),
      reserveP50Ms: percentile(reserveOnly, 0.5),
      reserveP99Ms: percentile(reserveOnly, 0.99),
      contended1InstanceRps: one.rps,
      contended4InstancesRps: four.rps,
      conflictsPerRequest1Instance: one.conflictsPerRequest,
      conflictsPerRequest4Instances: four.conflictsPerRequest,
      ...promptEstimate,
    };
  } finally {
    await azurite.stop();
  }
}
