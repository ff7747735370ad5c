import { subscribe } from "node:diagnostics_channel";
import { writeFileSync } from "node:fs";
import { type ClientRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { Server } from "node:net";

/**
 * Preloaded (`node --import`) into a `palisade host` the cold-start bench spawns: where the time to the
 * first answer goes. Milliseconds from the process's start (performance.now()) and its CPU time then,
 * for: this preload (Node's own start), listening (the module graph and the host), the first request's
 * arrival and answer; and the outgoing HTTP calls made before that answer, by kind (Table Storage, Key
 * Vault, the upstream), with their count and summed time. One JSON object goes to the file
 * PALISADE_STARTUP_TRACE_FILE when the first answer is sent.
 */

export interface StartupTrace {
  readonly preloadMs: number;
  readonly listeningMs: number;
  readonly listeningCpuMs: number;
  readonly firstRequestMs: number;
  readonly firstAnswerMs: number;
  readonly firstAnswerCpuMs: number;
  readonly firstAnswerStatus: number;
  /** kind -> { calls, ms (summed), lastEndMs }: `table`, `keyvault`, `upstream`, `other`. */
  readonly calls: Readonly<Record<string, { calls: number; ms: number }>>;
}

const cpuMs = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};
const round = (value: number): number => Math.round(value * 10) / 10;
const file = process.env.PALISADE_STARTUP_TRACE_FILE;
const preloadMs = performance.now();
let listeningMs = Number.NaN;
let listeningCpuMs = Number.NaN;
let firstRequestMs = Number.NaN;
let done = false;
const calls: Record<string, { calls: number; ms: number }> = {};
const started = new WeakMap<ClientRequest, number>();

function kindOf(request: ClientRequest): string {
  const path = request.path;
  if (/\/devstoreaccount1\/|\/Tables|\$batch/.test(path)) return "table";
  if (/^\/(secrets|keys)\//.test(path)) return "keyvault";
  if (/\/chat\/completions|\/embeddings|\/responses/.test(path)) return "upstream";
  return "other";
}

subscribe("http.client.request.start", (message) => {
  started.set((message as { request: ClientRequest }).request, performance.now());
});
subscribe("http.client.response.finish", (message) => {
  if (done) return;
  const { request } = message as { request: ClientRequest; response: IncomingMessage };
  const start = started.get(request);
  if (start === undefined) return;
  const kind = kindOf(request);
  const entry = (calls[kind] ??= { calls: 0, ms: 0 });
  entry.calls += 1;
  entry.ms = round(entry.ms + performance.now() - start);
});
subscribe("http.server.request.start", () => {
  if (Number.isNaN(firstRequestMs)) firstRequestMs = performance.now();
});
subscribe("http.server.response.finish", (message) => {
  if (done) return;
  done = true;
  const trace: StartupTrace = {
    preloadMs: round(preloadMs),
    listeningMs: round(listeningMs),
    listeningCpuMs: round(listeningCpuMs),
    firstRequestMs: round(firstRequestMs),
    firstAnswerMs: round(performance.now()),
    firstAnswerCpuMs: round(cpuMs()),
    firstAnswerStatus: (message as { response: ServerResponse }).response.statusCode,
    calls,
  };
  if (file) writeFileSync(file, JSON.stringify(trace));
});

const listen = Server.prototype.listen;
Server.prototype.listen = function listenTraced(this: Server, ...args: unknown[]) {
  this.once("listening", () => {
    if (!Number.isNaN(listeningMs)) return;
    listeningMs = performance.now();
    listeningCpuMs = cpuMs();
  });
  return (listen as (...rest: unknown[]) => Server).apply(this, args);
} as typeof Server.prototype.listen;
