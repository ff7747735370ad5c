import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { InvocationContext } from "../../local/host/functionsRuntime.js";
import { directAnswer } from "../../local/host/directAnswer.js";
import { invocationTraceContext, requestFor } from "../../local/host/incomingRequest.js";
import { failureResponse, reportUnexpectedError } from "../../src/adapters/http/errorResponse.js";
import { gatewayRequestOf, requestIdFor, toHttpResponse } from "../../src/adapters/http/gatewayHttp.js";
import { readJsonBody } from "../../src/adapters/http/readJsonBody.js";
import { JsonLogger } from "../../src/adapters/logging/JsonLogger.js";
import { randomUuid } from "../../src/adapters/random/randomUuid.js";
import { type ApiKeyRecord, type ApiKeyStore } from "../../src/core/auth/ApiKeyStore.js";
import { ApiKeyService } from "../../src/core/auth/ApiKeyService.js";
import { Authenticator } from "../../src/core/auth/Authenticator.js";
import { type Clock } from "../../src/core/clock.js";
import { createChatOperation } from "../../src/core/gateway/operations/chat/chatOperation.js";
import { GovernedPipeline } from "../../src/core/gateway/pipeline/GovernedPipeline.js";
import { countWithUpperBoundUntilLoadedFor, loadTokenEncodingsFor } from "../../src/core/limits/estimatePromptTokens.js";
import { LimitGuard } from "../../src/core/limits/LimitGuard.js";
import { type CounterDelta, type CounterValues, type UsageCounterStore, addDeltas, expandHolds, refusedKeys } from "../../src/core/limits/UsageCounterStore.js";
import { policySchema } from "../../src/core/policy/schema.js";
import { EndpointHealth } from "../../src/core/routing/EndpointHealth.js";
import { ContentSafetyCheck } from "../../src/core/safety/ContentSafetyCheck.js";
import { ContentSafetyStage } from "../../src/core/safety/ContentSafetyStage.js";
import { type Completion, type CompletionProvider } from "../../src/core/upstream/CompletionProvider.js";
import { type UpstreamProvider } from "../../src/core/upstream/UpstreamProvider.js";
import { REQUEST_BODY, benchPolicy } from "../gateway.js";
import { watchHeap } from "./heapWatch.js";

/**
 * The CPU of the HTTP path's own work per governed chat completion, in ONE process, without sockets:
 * from the local host's `HttpRequest` (as `local/host` builds it) through `readJsonBody`, the governed
 * pipeline with every check of the gateway bench (API key, RBAC, IP allowlist through a proxy hop,
 * DLP, the token estimate, limits with leases and merged settlements, routing, both audit events,
 * the prompt digest) to the bytes `local/host` would write. The I/O ports are in-memory stand-ins
 * (counter store, key store, audit publisher, upstream), so what is measured is the CPU of our code
 * and its packages, not sockets, Service Bus or Table Storage (see the deployed bench for those).
 *
 *   node dist/bench/support/pipelineCpu.js [ROUNDS] [PER_ROUND] [OTHER_DIST ...]
 *
 * Prints CPU µs per request (`process.cpuUsage`, so GC counts), median over rounds of PER_ROUND
 * requests, 16 in flight, and the KB each request allocates on the heap (V8's GC profiler,
 * bench/support/heapWatch.ts: the same figure whatever the machine's load, issue 22). Each OTHER_DIST is another build's `dist` holding this file (copy it there):
 * its rounds are alternated with this build's in the same process, so a loaded machine weighs on both
 * alike, and the median ratio of each pair is printed.
 */

const DEPLOYMENT = "gpt-4o-mini";
const CONCURRENCY = 16;
const clock: Clock = { nowInMs: () => Date.now() };

class MemoryKeyStore implements Pick<ApiKeyStore, "create" | "get"> {
  private readonly records = new Map<string, ApiKeyRecord>();
  async create(record: ApiKeyRecord): Promise<void> {
    this.records.set(record.keyId, record);
  }
  async get(keyId: string): Promise<ApiKeyRecord | null> {
    return this.records.get(keyId) ?? null;
  }
}

/** Applies as the real store does (holds, limits), with no list, renewal or sweep (the bench never needs them). */
class MemoryCounterStore implements Pick<UsageCounterStore, "apply"> {
  private readonly partitions = new Map<string, Map<string, CounterValues>>();
  async apply(partition: string, deltas: readonly CounterDelta[], options: { holdExpiresAtMs?: number } = {}) {
    const rows = this.partitions.get(partition) ?? new Map<string, CounterValues>();
    this.partitions.set(partition, rows);
    const expanded = expandHolds(rows, deltas, options.holdExpiresAtMs);
    const refused = refusedKeys(rows, expanded);
    const counters: Record<string, CounterValues> = {};
    if (refused.length > 0) {
      for (const delta of deltas) counters[delta.key] = { ...(rows.get(delta.key) ?? {}) };
      return { applied: false as const, refused, counters };
    }
    for (const [key, values] of addDeltas(rows, expanded)) {
      rows.set(key, values);
      counters[key] = { ...values };
    }
    return { applied: true as const, counters };
  }
}

const ANSWER = "A mock answer of a typical length. ".repeat(8);

/** What the mock upstream answers, as `OpenAiCompletionProvider` hands it over. */
const upstream: Pick<CompletionProvider, "complete"> = {
  async complete(_endpoint, _body, options): Promise<Completion> {
    return {
      body: {
        id: "chatcmpl-bench",
        object: "chat.completion",
        created: 1_700_000_000,
        model: options.deployment,
        choices: [{ index: 0, message: { role: "assistant", content: ANSWER }, finish_reason: "stop" }],
        usage: { prompt_tokens: 90, completion_tokens: 64, total_tokens: 154 },
      },
      usage: { promptTokens: 90, cachedPromptTokens: 0, completionTokens: 64 },
    };
  },
};

/** Builds the pipeline, warms it up, and returns a function that serves `count` requests. */
export async function preparePipelineCpu(): Promise<{ run: (count: number) => Promise<void>; failures: () => number }> {
  const policy = policySchema.parse(benchPolicy("http://127.0.0.1:9", true));
  const logger = new JsonLogger("error");
  const apiKeys = new ApiKeyService({ store: new MemoryKeyStore() as unknown as ApiKeyStore, clock, random: (bytes) => randomBytes(bytes) });
  const authenticator = new Authenticator({ apiKeys, tokens: null, policy });
  // The app's defaults (settings.ts): leases of 5 %, settlements merged for 1 s.
  const limits = new LimitGuard({ store: new MemoryCounterStore() as unknown as UsageCounterStore, clock, policy, logger, leaseFraction: 0.05, settleEveryInMs: 1000, owner: "bench", holdExpiryInMs: 60_000 });
  const health = new EndpointHealth(clock, policy.routing.breaker, { maxRetryAfterInMs: policy.routing.maxRetryAfterInMs, probeLeaseInMs: policy.routing.totalDeadlineInMs });
  const publisher = { publish: async (): Promise<void> => undefined, close: async (): Promise<void> => undefined };
  const contentSafety = new ContentSafetyStage(null);
  const pipeline = new GovernedPipeline({
    policy,
    policyVersion: "c".repeat(64),
    clock,
    logger,
    // As the app wires it (src/composition/appServices.ts) and the local host makes invocation ids.
    newEventId: randomUuid,
    authenticator,
    limits,
    health,
    auditPublisherFor: () => publisher,
    refusalFallback: publisher,
    cache: { store: { get: async () => null, set: async () => undefined }, secret: randomBytes(32) },
    digestKey: randomBytes(32),
    subjects: null,
    checks: [new ContentSafetyCheck(contentSafety)],
    contentSafety,
  });
  const chat = createChatOperation(upstream as unknown as UpstreamProvider);
  const { apiKey } = await apiKeys.create({ project: "bench", serviceAccount: "bench-app", expiresInMs: 3_600_000 });
  const body = Buffer.from(REQUEST_BODY);
  const url = { href: "http://127.0.0.1:7071/api/v1/chat/completions", pathname: "/api/v1/chat/completions", query: () => ({}) };
  let failures = 0;

  const one = async (): Promise<void> => {
    // What `headersOf` makes of the bench's request through one proxy hop.
    const headers: Record<string, string> = {
      host: "127.0.0.1:7071",
      connection: "keep-alive",
      "content-type": "application/json",
      authorization: `Bearer ${apiKey}`,
      "content-length": String(body.byteLength),
      "client-ip": "127.0.0.1:50000",
      "x-forwarded-for": "127.0.0.1",
    };
    const request = requestFor("POST", url, headers, {}, { kind: "bytes", bytes: body });
    const context = new InvocationContext({ invocationId: randomUuid(), functionName: "chatCompletions", traceContext: invocationTraceContext(undefined), logHandler: () => undefined });
    const requestId = requestIdFor(request, () => context.invocationId);
    let result;
    try {
      const parsed = await readJsonBody(request, policy.limits.maxBodyBytes);
      const input = gatewayRequestOf(request, requestId, policy.network.trustedProxyHops, parsed, context.traceContext);
      result = toHttpResponse(await pipeline.handle(chat, input), (error) => reportUnexpectedError(error, requestId, context));
    } catch (error) {
      result = failureResponse(error, requestId, context);
    }
    if (directAnswer(result)?.status !== 200) failures += 1;
  };
  const run = async (count: number): Promise<void> => {
    let started = 0;
    const worker = async (): Promise<void> => {
      for (; started < count; ) {
        started += 1;
        await one();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  };

  countWithUpperBoundUntilLoadedFor([DEPLOYMENT]);
  await loadTokenEncodingsFor([DEPLOYMENT]);
  await run(2_000);
  return { run, failures: () => failures };
}

const cpuMicros = (): number => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

async function main(): Promise<void> {
  const [roundsArg, perRoundArg, ...otherDists] = process.argv.slice(2);
  const rounds = Number(roundsArg ?? 20);
  const perRound = Number(perRoundArg ?? 1_000);
  const builds = [{ name: "this build", prepare: preparePipelineCpu }];
  for (const dist of otherDists) {
    const module = (await import(pathToFileURL(`${dist}/bench/support/pipelineCpu.js`).href)) as { preparePipelineCpu: typeof preparePipelineCpu };
    builds.push({ name: dist, prepare: module.preparePipelineCpu });
  }
  const prepared = [];
  for (const build of builds) prepared.push({ ...build, ...(await build.prepare()), perRequest: [] as number[], kbPerRequest: [] as number[] });
  const heap = watchHeap();
  for (let round = 0; round < rounds; round += 1) {
    // Alternated, and in the reverse order every other round.
    const order = round % 2 === 0 ? prepared : [...prepared].reverse();
    for (const build of order) {
      heap.read();
      const before = cpuMicros();
      await build.run(perRound);
      build.perRequest.push((cpuMicros() - before) / perRound);
      build.kbPerRequest.push(heap.read().youngAllocatedBytes / perRound / 1024);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  heap.close();
  const [self] = prepared;
  for (const build of prepared) {
    const ratios = self ? build.perRequest.map((value, index) => value / (self.perRequest[index] ?? Number.NaN)) : [];
    const kbRatios = self ? build.kbPerRequest.map((value, index) => value / (self.kbPerRequest[index] ?? Number.NaN)) : [];
    process.stdout.write(
      `${build.name}: ${median(build.perRequest).toFixed(0)} µs CPU and ${median(build.kbPerRequest).toFixed(1)} KB allocated per request (median of ${rounds} rounds of ${perRound}; best ${Math.min(...build.kbPerRequest).toFixed(1)} KB), ${build.failures()} not 200` +
        (build === self ? "\n" : `; ratio to this build ${median(ratios).toFixed(3)} CPU, ${median(kbRatios).toFixed(3)} KB\n`),
    );
  }
}

if (process.argv[1]?.endsWith("pipelineCpu.js")) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`pipelineCpu failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
