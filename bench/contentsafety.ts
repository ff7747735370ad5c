import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath, pathToFileURL } from "node:url";
import { AzureContentSafety } from "../src/adapters/contentsafety/AzureContentSafety.js";
import { contentSafetyPolicySchema } from "../src/core/safety/contentSafetyPolicy.js";
import { ContentSafetyScreen } from "../src/core/safety/ContentSafetyScreen.js";
import { ContentSafetyStage } from "../src/core/safety/ContentSafetyStage.js";
import { ContentSafetyCheck } from "../src/core/safety/ContentSafetyCheck.js";
import { chatContents } from "../src/core/gateway/operations/chat/chatContents.js";
import { type ChatCompletionRequest } from "../src/core/gateway/operations/chat/chatRequest.js";
import { createEmbeddingsOperation } from "../src/core/gateway/operations/embeddings/embeddingsOperation.js";
import { responsesContents } from "../src/core/gateway/operations/responses/responsesContents.js";
import { type ContentField } from "../src/core/gateway/pipeline/Operation.js";
import { type EmbeddingsProvider } from "../src/core/upstream/EmbeddingsProvider.js";
import { type ProjectPolicy } from "../src/core/policy/schema.js";

/**
 * `npm run bench`: what content safety adds to one request's input stage — wall time and this
 * process's CPU — with the real SDK against the emulator on loopback (in a child process, so its CPU
 * is not counted), for: off (the project does not ask), on (Prompt Shields and categories in
 * parallel, every text new), and on with every text repeated (the HMAC-keyed cache); and "on" for a
 * Responses request (user input and a tool output) and an embeddings batch (four texts). The emulator
 * answers in microseconds; Azure adds its own latency (tens of ms), so `onP50Ms` is the floor.
 * Shared machine: figures are noisy; compare within one run.
 */
const KEY = "bench-key";

async function startEmulatorChild(): Promise<{ child: ChildProcess; endpoint: string }> {
  const module = pathToFileURL(fileURLToPath(new URL("../local/contentsafety/index.js", import.meta.url))).href;
  const script = `import(${JSON.stringify(module)}).then((m) => m.startContentSafetyEmulator({ key: ${JSON.stringify(KEY)} })).then((e) => { console.log(e.endpoint); process.stdin.resume(); process.stdin.on("end", () => e.stop().then(() => process.exit(0))); });`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["pipe", "pipe", "inherit"] });
  const [line] = (await once(child.stdout ?? child, "data")) as [Buffer];
  return { child, endpoint: line.toString("utf8").trim() };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const round = (value: number, digits = 3): number => Math.round(value * 10 ** digits) / 10 ** digits;

export async function runContentSafetyBench(options: { quick: boolean }): Promise<Record<string, number>> {
  const requests = options.quick ? 200 : 1000;
  const { child, endpoint } = await startEmulatorChild();
  try {
    const screen = new ContentSafetyScreen({ safety: new AzureContentSafety({ endpoint, key: KEY }), clock: { nowInMs: () => Date.now() }, cacheKey: new Uint8Array(32).fill(1) });
    const check = new ContentSafetyCheck(new ContentSafetyStage(screen));
    // What the pipeline does per request: skip when the project does not ask, else list the contents (lazily) and screen.
    const screenRequest = async (project: Partial<ProjectPolicy>, operation: string, contents: () => readonly ContentField[]): Promise<void> => {
      const full = project as ProjectPolicy;
      if (!check.applies(full, "internal")) return;
      await check.check({ operation, requestId: "bench", project: full, dataClass: "internal", get contents() { return contents(); } });
    };
    const on = { contentSafety: contentSafetyPolicySchema.parse({ shields: { enabled: true }, categories: { hate: { threshold: 4 }, violence: { threshold: 4 } } }) };
    const off: Partial<ProjectPolicy> = {};
    const messages = (index: number): ChatCompletionRequest => ({
      model: "gpt-4o-mini",
      messages: [
        { role: "system", content: "You are a helpful assistant for the support team." },
        { role: "user", content: `Summarise ticket ${index}: the customer cannot log in since the update and asks for a call back.` },
        { role: "tool", tool_call_id: "call_1", content: `Ticket ${index} history: opened yesterday, two replies, priority normal.` },
      ],
    });
    const chat = (index: number) => () => chatContents(messages(index));
    // Texts of their own: the cache must not answer for what the chat run screened.
    const responses = (index: number) => () =>
      responsesContents({
        model: "gpt-4o-mini",
        instructions: "You are a helpful assistant for the support team.",
        input: [
          { role: "user", content: [{ type: "input_text", text: `Summarise case ${index}: the customer cannot log in since the update and asks for a call back.` }] },
          { type: "function_call", call_id: "call_1", name: "ticket_history", arguments: "{}" },
          { type: "function_call_output", call_id: "call_1", output: `Case ${index} history: opened yesterday, two replies, priority normal.` },
        ],
      });
    const embeddingsOperation = createEmbeddingsOperation({} as EmbeddingsProvider);
    const embeddings = (index: number) => () =>
      embeddingsOperation.contents({ model: "text-embedding-3-small", input: [1, 2, 3, 4].map((part) => `Knowledge base article ${index}, part ${part}: how to reset a password after an update.`) });
    const measure = async (project: Partial<ProjectPolicy>, operation: string, contentsOf: (index: number) => () => readonly ContentField[]) => {
      for (let index = 0; index < 200; index += 1) await screenRequest(project, operation, contentsOf(-1 - index));
      const latencies: number[] = [];
      const cpuBefore = process.cpuUsage();
      const startedAt = performance.now();
      for (let index = 0; index < requests; index += 1) {
        const begin = performance.now();
        await screenRequest(project, operation, contentsOf(index));
        latencies.push(performance.now() - begin);
      }
      const wallMs = performance.now() - startedAt;
      const cpu = process.cpuUsage(cpuBefore);
      return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), cpuMicros: (cpu.user + cpu.system) / requests, wallMs };
    };
    const offResult = await measure(off, "chat.completions", chat);
    const onResult = await measure(on, "chat.completions", chat);
    const cachedResult = await measure(on, "chat.completions", () => chat(0));
    const responsesResult = await measure(on, "responses", responses);
    const embeddingsResult = await measure(on, "embeddings", embeddings);
    return {
      requests,
      offCpuMicrosPerRequest: round(offResult.cpuMicros, 2),
      offP50Ms: round(offResult.p50),
      onCpuMicrosPerRequest: round(onResult.cpuMicros, 1),
      onP50Ms: round(onResult.p50),
      onP99Ms: round(onResult.p99),
      cachedCpuMicrosPerRequest: round(cachedResult.cpuMicros, 1),
      cachedP50Ms: round(cachedResult.p50),
      responsesOnCpuMicrosPerRequest: round(responsesResult.cpuMicros, 1),
      responsesOnP50Ms: round(responsesResult.p50),
      responsesOnP99Ms: round(responsesResult.p99),
      embeddingsOnCpuMicrosPerRequest: round(embeddingsResult.cpuMicros, 1),
      embeddingsOnP50Ms: round(embeddingsResult.p50),
      embeddingsOnP99Ms: round(embeddingsResult.p99),
    };
  } finally {
    child.stdin?.end();
    await Promise.race([once(child, "exit"), new Promise((resolve) => setTimeout(resolve, 2000))]);
    if (child.exitCode === null) child.kill("SIGTERM");
  }
}
