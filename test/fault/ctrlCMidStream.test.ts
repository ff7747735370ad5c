import { type ChildProcessByStdio, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Readable } from "node:stream";
import { TableClient } from "@azure/data-tables";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TableAuditLedger } from "../../src/adapters/tables/TableAuditLedger.js";
import { AUDIT_LOG_TABLE } from "../../src/adapters/tables/audit/auditEntities.js";
import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { queryAuditEvents } from "../../src/core/audit/queryAuditEvents.js";
import { type PolicyInput } from "../../src/core/policy/schema.js";
import { type ScriptedUpstream, slowWordStream, startScriptedUpstream } from "../hardening/scriptedUpstream.js";
import { ROOT, ensureBuilt } from "../support/hostProcesses.js";

/**
 * Outside testing, the way a developer does it: `npm start`'s entry (`node dist/local/start.js`, what
 * `npm start` runs after its build), a stream opened with the `openai` client from the variables it
 * prints, and Ctrl-C (SIGINT) mid-stream. The stream must finish (drained, as `palisade host --drain`
 * does on SIGTERM), and its api_call must reach the ledger before the in-memory emulators go: the
 * test reads the ledger (Azurite, from the printed AZURE_STORAGE_CONNECTION_STRING) while npm start
 * shuts down. Free ports throughout (PALISADE_PORT=0, PALISADE_STACK_PORTS=free), never 7071/7101-7108.
 */

const MODEL = "gpt-4o-mini";
/** 30 chunks 100 ms apart: 3 s, so Ctrl-C lands mid-stream and the 8 s default drain covers the rest. */
const CHUNKS = 30;
const CHUNK_DELAY_IN_MS = 100;

let upstream: ScriptedUpstream;
let directory: string;
let child: ChildProcessByStdio<null, Readable, Readable> | undefined;

function policy(): PolicyInput {
  return {
    version: 1,
    projects: [{ id: "acme", residency: "eu", models: [{ name: MODEL, deployment: MODEL }], maxTokens: 512 }],
    serviceAccounts: [{ id: "app", project: "acme", permissions: ["chat.completions"] }],
    endpoints: [{ id: "scripted", provider: "azure", baseUrl: upstream.url, region: "westeurope", residency: "eu", class: "standard", deployments: [MODEL], auth: { kind: "none" }, timeoutInMs: 30_000 }],
  };
}

beforeAll(async () => {
  upstream = await startScriptedUpstream();
  directory = await mkdtemp(join(tmpdir(), "palisade-ctrl-c-"));
  await writeFile(join(directory, "policy.json"), JSON.stringify(policy()));
  await ensureBuilt();
}, 300_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await upstream?.stop();
  await rm(directory, { recursive: true, force: true });
}, 30_000);

/** `node dist/local/start.js` in its own directory; resolves with the variables it printed, once it is ready. */
async function startNpmStart(): Promise<{ exports: Record<string, string>; output: { stdout: string; stderr: string }; exited: Promise<number | null> }> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !name.startsWith("VITEST") && name !== "NODE_OPTIONS") env[name] = value;
  Object.assign(env, { PALISADE_PORT: "0", PALISADE_STACK_PORTS: "free", PALISADE_POLICY: join(directory, "policy.json"), PALISADE_LOG_LEVEL: "error" });
  const started = spawn(process.execPath, [join(ROOT, "dist", "local", "start.js")], { cwd: directory, env, stdio: ["ignore", "pipe", "pipe"] });
  child = started;
  const output = { stdout: "", stderr: "" };
  started.stdout.on("data", (chunk: Buffer) => (output.stdout += chunk.toString("utf8")));
  started.stderr.on("data", (chunk: Buffer) => (output.stderr += chunk.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => started.once("exit", (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  while (!output.stdout.includes("Ctrl-C stops everything")) {
    if (started.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not get ready; stderr: ${output.stderr.slice(-2_000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const exports: Record<string, string> = {};
  for (const match of output.stdout.matchAll(/^export ([A-Za-z_]+)=(.*)$/gm)) exports[match[1] ?? ""] = (match[2] ?? "").replace(/^'(.*)'$/, "$1");
  return { exports, output, exited };
}


describe("Ctrl-C (SIGINT) on npm start with a stream in flight", () => {
  it("lets the stream finish and appends its api_call to the ledger before the stack stops", async () => {
    const { exports, output, exited } = await startNpmStart();
    expect(exports.OPENAI_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1$/);
    expect(exports.OPENAI_BASE_URL).not.toContain(":7071/");
    const connectionString = exports.AZURE_STORAGE_CONNECTION_STRING ?? "";
    const ledger = new TableAuditLedger(TableClient.fromConnectionString(connectionString, AUDIT_LOG_TABLE, { allowInsecureConnection: true }));

    upstream.answerNext(slowWordStream(MODEL, CHUNKS, CHUNK_DELAY_IN_MS));
    // The user's shell: the two variables npm start printed, and a client built with no options but them.
    const client = new OpenAI({ baseURL: exports.OPENAI_BASE_URL, apiKey: exports.OPENAI_API_KEY, maxRetries: 0, timeout: 30_000 });
    const { data: stream, response } = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Tell me a long story." }], stream: true }).withResponse();
    const requestId = response.headers.get("x-request-id") ?? "";
    expect(requestId).not.toBe("");

    // Reads the ledger from Ctrl-C on, while npm start drains and stops (the ledger is in memory: it goes with the process).
    let audited: AuditEvent | undefined;
    let polling = true;
    const poller = (async () => {
      while (polling && audited === undefined) {
        try {
          for await (const event of queryAuditEvents(ledger, { chainId: "acme" })) if (event.type === "api_call" && event.requestId === requestId) audited = event;
        } catch {
          // Azurite gone: the process has stopped.
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    let text = "";
    let signalled = false;
    for await (const part of stream) {
      text += part.choices[0]?.delta?.content ?? "";
      if (!signalled && text.includes("word2 ")) {
        signalled = true;
        child?.kill("SIGINT");
      }
    }
    expect(signalled).toBe(true);
    // The whole answer arrived: Ctrl-C drained the stream instead of cutting it.
    expect(text).toBe(Array.from({ length: CHUNKS }, (_, at) => `word${at} `).join(""));

    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve("still running"), 30_000))]);
    polling = false;
    await poller;
    expect(code, output.stderr.slice(-2_000)).toBe(0);
    expect(output.stderr).toContain("Audit: the queue is empty; every event published is in the ledger.");
    expect(audited, `no api_call for ${requestId} in the ledger before npm start stopped; stderr: ${output.stderr.slice(-2_000)}`).toMatchObject({ type: "api_call", status: "success" });
  }, 180_000);
});
