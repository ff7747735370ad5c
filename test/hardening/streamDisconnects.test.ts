import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMockOpenAi, startMockOpenAi } from "../../local/mockOpenAi/index.js";
import { type LocalStack, startLocalStack } from "../../local/stack.js";
import { CliServices } from "../../src/composition/cliServices.js";
import { type PolicyInput } from "../../src/core/policy/schema.js";
import { type RunningHostProcesses, type StoppedHost, ensureBuilt, startHostProcesses } from "../support/hostProcesses.js";
import { seededRandom } from "../support/seededRandom.js";

/**
 * Issue 18 item 1: a caller that disconnects from a stream, or a stream whose output DLP blocks after
 * the upstream finished sending, crashed the whole instance (ERR_INVALID_STATE thrown from a socket
 * event). Here the compiled app runs in its own process, as `npm start` and `palisade host` run it,
 * and takes many streams with callers leaving at seeded random points, plus blocked streams read to
 * the end. Afterwards the instance must still serve, its process must never have exited, it must have
 * logged no uncaught exception, and every blocked stream must have ended with the OpenAI error frame.
 */

const MODEL = "gpt-4o-mini";
const STREAMS = 200;
const IN_FLIGHT = 20;
const SEED = 0x5eed_0018;
/** Echoed by the mock; the output DLP of project `guarded` blocks the e-mail address in it. */
const SENSITIVE_PROMPT = "[[mock:echo]] please write to jane.doe@example.com about the invoice today";
/** Long enough that a caller can leave at many points of it. */
const LONG_PROMPT = `[[mock:echo]] ${Array.from({ length: 40 }, (_unused, index) => `word${index}`).join(" ")}`;


function disconnectPolicy(fastUrl: string, slowUrl: string): PolicyInput {
  const endpoint = (id: string, baseUrl: string, deployment: string) => ({
    id,
    provider: "azure" as const,
    baseUrl,
    region: "westeurope",
    residency: "eu" as const,
    class: "zdr" as const,
    deployments: [deployment],
    priority: 1,
    auth: { kind: "none" as const },
    timeoutInMs: 20_000,
  });
  const dlp = { input: { public: "allow" as const, internal: "allow" as const, confidential: "allow" as const, pii: "allow" as const, phi: "allow" as const } };
  return {
    version: 1,
    projects: [
      // The fast upstream sends its whole answer at once: output DLP blocks after it finished sending.
      { id: "guarded", residency: "eu", models: [{ name: MODEL, deployment: "fast" }], maxTokens: 256, dlp: { ...dlp, output: "block" }, auditOnPublishFailure: "outbox" },
      // The slow upstream spaces its chunks, so callers leave in the middle of the upstream's answer.
      { id: "slow", residency: "eu", models: [{ name: MODEL, deployment: "slow" }], maxTokens: 256, dlp: { ...dlp, output: "redact" }, auditOnPublishFailure: "outbox" },
    ],
    serviceAccounts: [
      { id: "guarded-app", project: "guarded", permissions: ["chat.completions", "models.list"] },
      { id: "slow-app", project: "slow", permissions: ["chat.completions", "models.list"] },
    ],
    endpoints: [endpoint("fast-upstream", fastUrl, "fast"), endpoint("slow-upstream", slowUrl, "slow")],
    pricing: { fast: { inputPer1M: 0.15, outputPer1M: 0.6 }, slow: { inputPer1M: 0.15, outputPer1M: 0.6 } },
    routing: { maxAttempts: 1, totalDeadlineInMs: 30_000, breaker: { consecutiveFailures: 10_000, cooldownInMs: 1_000 } },
  };
}

type Plan =
  | { readonly kind: "blocked" }
  /** Leave before the answer's headers, after `delayInMs`. */
  | { readonly kind: "early"; readonly project: "guarded" | "slow"; readonly delayInMs: number }
  /** Leave after reading `chunks` chunks of the body, by aborting or by cancelling the body. */
  | { readonly kind: "midway"; readonly project: "guarded" | "slow"; readonly chunks: number; readonly how: "abort" | "cancel" };

function planStreams(random: () => number): Plan[] {
  return Array.from({ length: STREAMS }, (): Plan => {
    const roll = random();
    const project = random() < 0.5 ? "guarded" : "slow";
    if (roll < 0.2) return { kind: "blocked" };
    if (roll < 0.4) return { kind: "early", project, delayInMs: Math.floor(random() * 40) };
    return { kind: "midway", project, chunks: Math.floor(random() * 12), how: random() < 0.5 ? "abort" : "cancel" };
  });
}

let directory = "";
let stack: LocalStack | undefined;
let cli: CliServices | undefined;
const mocks: { fast?: RunningMockOpenAi; slow?: RunningMockOpenAi } = {};
let hosts: RunningHostProcesses | undefined;
let stopped: readonly StoppedHost[] = [];
const keys = { guarded: "", slow: "" };

const urlOf = (): string => hosts?.urls[0] ?? "";
const pidOf = (): number => hosts?.instances[0]?.pid ?? -1;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function chat(apiKey: string, content: string, stream: boolean, signal: AbortSignal): Promise<Response> {
  return fetch(`${urlOf()}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content }], stream }),
    signal,
  });
}

/** Runs one planned stream; for a blocked one, returns the whole body the caller received. */
async function runPlan(plan: Plan): Promise<string | null> {
  const controller = new AbortController();
  const bound = setTimeout(() => controller.abort(new Error("the stream took longer than 20 s")), 20_000);
  try {
    if (plan.kind === "blocked") {
      const response = await chat(keys.guarded, SENSITIVE_PROMPT, true, controller.signal);
      return await response.text();
    }
    const apiKey = keys[plan.project];
    const content = plan.project === "slow" ? LONG_PROMPT : SENSITIVE_PROMPT;
    if (plan.kind === "early") {
      const pending = chat(apiKey, content, true, controller.signal);
      setTimeout(() => controller.abort(), plan.delayInMs);
      await pending.then((response) => response.body?.cancel()).catch(() => undefined);
      return null;
    }
    const response = await chat(apiKey, content, true, controller.signal);
    const reader = response.body?.getReader();
    for (let read = 0; reader && read < plan.chunks; read += 1) if ((await reader.read()).done) break;
    if (plan.how === "abort") controller.abort();
    else await reader?.cancel();
    return null;
  } catch {
    return null;
  } finally {
    clearTimeout(bound);
  }
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "palisade-disconnects-"));
  const [, started] = await Promise.all([ensureBuilt(), startLocalStack({ stateDirectory: directory })]);
  stack = started;
  mocks.fast = await startMockOpenAi({ name: "fast-upstream", region: "westeurope", maxRecorded: 10 });
  mocks.slow = await startMockOpenAi({ name: "slow-upstream", region: "westeurope", maxRecorded: 10, chunkDelayInMs: 2 });
  const policyPath = join(directory, "policy.json");
  await writeFile(policyPath, JSON.stringify(disconnectPolicy(mocks.fast.url, mocks.slow.url), null, 2));
  const environment = { ...stack.environment, PALISADE_POLICY: policyPath };
  cli = new CliServices(environment);
  const apiKeys = await cli.apiKeyService();
  keys.guarded = (await apiKeys.create({ project: "guarded", serviceAccount: "guarded-app", expiresInMs: 3_600_000 })).apiKey;
  keys.slow = (await apiKeys.create({ project: "slow", serviceAccount: "slow-app", expiresInMs: 3_600_000 })).apiKey;
  hosts = await startHostProcesses({ count: 1, environment, args: ["--no-timers", "--no-service-bus"], stopTimeoutInMs: 3_000 });
  const warm = await fetch(`${urlOf()}/v1/models`, { headers: { authorization: `Bearer ${keys.slow}` }, signal: AbortSignal.timeout(30_000) });
  expect(warm.status).toBe(200);
}, 120_000);

afterAll(async () => {
  if (hosts) stopped = await hosts.stop();
  await cli?.close().catch(() => undefined);
  await Promise.allSettled([mocks.fast?.stop(), mocks.slow?.stop()]);
  await stack?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

describe("streams whose callers leave at random points, and streams whose output DLP blocks", () => {
  it("never take the instance down, and every blocked stream ends with the OpenAI error frame", async () => {
    const plans = planStreams(seededRandom(SEED));
    const pid = pidOf();
    const blockedBodies: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < plans.length) {
        const plan = plans[next++] as Plan;
        const body = await runPlan(plan);
        if (plan.kind === "blocked") blockedBodies.push(body ?? "");
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));

    const counts = plans.reduce<Record<string, number>>((tally, plan) => ({ ...tally, [plan.kind]: (tally[plan.kind] ?? 0) + 1 }), {});
    process.stderr.write(`streamDisconnects: ${STREAMS} streams (seed ${SEED.toString(16)}): ${JSON.stringify(counts)}\n`);

    // Every blocked stream ended with the error frame, never with [DONE] and never cut off.
    expect(blockedBodies).toHaveLength(counts.blocked ?? 0);
    const endings = blockedBodies.map((body) => {
      const frames = body.split("\n\n").filter((frame) => frame.startsWith("data: "));
      const last = frames.at(-1)?.slice("data: ".length) ?? "";
      try {
        const parsed = JSON.parse(last) as { error?: { code?: string } };
        return parsed.error?.code ?? "no error frame";
      } catch {
        return last === "[DONE]" ? "[DONE]" : "cut off";
      }
    });
    expect(new Set(endings)).toEqual(new Set(["sensitive_data_detected"]));
    // Nor did the blocked value reach the caller.
    expect(blockedBodies.some((body) => body.includes("jane.doe@example.com"))).toBe(false);

    // The same process still serves, plainly and streamed.
    expect(isAlive(pid)).toBe(true);
    const plain = await chat(keys.slow, "hello", false, AbortSignal.timeout(15_000));
    expect(plain.status).toBe(200);
    const streamed = await chat(keys.slow, "hello", true, AbortSignal.timeout(15_000));
    expect((await streamed.text()).trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(isAlive(pid)).toBe(true);
    expect(hosts?.instances[0]?.stderrTail() ?? "").not.toMatch(/uncaught exception|ERR_INVALID_STATE/i);
  }, 180_000);

  it("ends on its own when stopped (it had not exited before)", async () => {
    stopped = (await hosts?.stop()) ?? [];
    expect(stopped.map((instance) => instance.ending)).toEqual(["exit 0"]);
  });
});
