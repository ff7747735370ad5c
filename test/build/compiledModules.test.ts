import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);

/**
 * Preloaded (node --require) in place of the Azure Functions Node worker: like the worker's
 * setupCoreModule, it answers require("@azure/functions-core") through Module.prototype.require, and
 * prints what the app registered (functions by name, hooks) as one JSON line when the process exits.
 */
const FAKE_FUNCTIONS_WORKER = `const Module = require("node:module");

const registered = [];
const hooks = [];
const disposable = { dispose() {} };
const coreApi = {
  version: "3.10.1",
  hostVersion: "4.1040.0",
  setProgrammingModel() {},
  registerFunction(metadata) {
    registered.push(metadata.name);
    return disposable;
  },
  registerHook(name) {
    hooks.push(name);
    return disposable;
  },
  log() {},
};

Module.prototype.require = new Proxy(Module.prototype.require, {
  apply(target, thisArg, args) {
    return args[0] === "@azure/functions-core" ? coreApi : Reflect.apply(target, thisArg, args);
  },
});
process.on("exit", () => process.stdout.write(\`\${JSON.stringify({ registered, hooks })}\n\`));
`;
const root = join(import.meta.dirname, "..", "..");

/**
 * vitest's module interop is more forgiving than Node's ESM loader (a CommonJS package's named exports,
 * for one), so the compiled output is imported here exactly as Azure and `npm start` load it.
 */
describe("the compiled app loads under plain Node ESM", () => {
  beforeAll(async () => {
    // What `npm run build` does: tsc, then the bundle bin/palisade.js runs.
    await run(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.build.json")], { cwd: root });
    await run(process.execPath, [join(root, "bin", "bundle.mjs")], { cwd: root });
  }, 180_000);

  it("imports every compiled function file, the local host and the CLI program", async () => {
    const functionsDirectory = join(root, "dist", "src", "functions");
    const entries = [
      join(root, "dist", "src", "index.js"),
      ...(await readdir(functionsDirectory)).filter((file) => file.endsWith(".js")).map((file) => join(functionsDirectory, file)),
      join(root, "dist", "local", "host", "index.js"),
      join(root, "dist", "local", "stack.js"),
      join(root, "dist", "local", "loadFunctionDefinitions.js"),
      join(root, "dist", "src", "cli", "program.js"),
    ];
    expect(entries.length).toBeGreaterThan(5);
    const script = `for (const url of ${JSON.stringify(entries.map((entry) => pathToFileURL(entry).href))}) await import(url); console.log("loaded");`;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: root, env: { ...process.env, PALISADE_LOG_LEVEL: "error" } });
    expect(stdout.trim().split("\n").at(-1)).toBe("loaded");
  }, 60_000);

  it("runs the palisade CLI: policy validate on the sample policy", async () => {
    const { stdout } = await run(process.execPath, [join(root, "bin", "palisade.js"), "policy", "validate", join(root, "config", "policy.sample.yaml"), "--json"], { cwd: root });
    expect(JSON.parse(stdout)).toMatchObject({ valid: true, projects: 2, endpoints: 5 });
  }, 60_000);

  it("bundles the CLI with every function file, newer than what tsc compiled, so bin/palisade.js runs it with a code cache", async () => {
    const bundle = join(root, "dist", "bundle", "palisade.cjs");
    expect((await stat(bundle)).mtimeMs).toBeGreaterThanOrEqual((await stat(join(root, "dist", "src", "cli", "index.js"))).mtimeMs);
    const { stdout } = await run(process.execPath, [join(root, "bin", "palisade.js"), "policy", "validate", join(root, "config", "policy.sample.yaml"), "--json"], { cwd: root });
    expect(JSON.parse(stdout)).toMatchObject({ valid: true });
    // The build trained `palisade host`'s cache for two flag sets, and bin/palisade.js ran the bundle,
    // writing the command's own cache (bin/codeCache.mjs).
    expect((await readdir(join(root, "dist", "bundle"))).filter((file) => /^palisade\.cjs\.host\..+\.trained\.cache$/.test(file))).toHaveLength(2);
    expect((await readdir(join(root, "dist", "bundle", "cache"))).some((file) => file.startsWith("palisade.cjs.policy."))).toBe(true);
    // Pure ASCII (read as a one-byte string); the DLP's non-ASCII patterns, escaped, find what the compiled code finds.
    expect([...(await readFile(bundle))].filter((byte) => byte > 0x7f)).toEqual([]);
    const text = "contraseña: Zk8#pL2!vQ9x, appelez le +33 6 12 34 56 78, 12 €, mail à jean.dupont@example.fr";
    const scan = (entry: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = execFile(process.execPath, [entry, "dlp", "scan"], { cwd: root }, (error, stdout) => (error ? reject(new Error(`palisade dlp scan failed: ${error.message}`)) : resolve(stdout)));
        child.stdin?.end(text);
      });
    const [bundledScan, compiledScan] = await Promise.all([scan(join(root, "bin", "palisade.js")), scan(join(root, "dist", "src", "cli", "index.js"))]);
    expect(JSON.parse(bundledScan)).toMatchObject({ counts: { PHONE_NUMBER: 1, EMAIL_ADDRESS: 1 } });
    expect(bundledScan).toBe(compiledScan);
    // `palisade host` takes its functions from the bundle's own list: every file of the folder is in it
    // (esbuild's metafile: the inputs each output file holds).
    const metafile = JSON.parse(await readFile(join(root, "dist", "bundle", "metafile.json"), "utf8")) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
    const bundled = new Set(Object.values(metafile.outputs).flatMap((output) => Object.keys(output.inputs)));
    const functionFiles = (await readdir(join(root, "dist", "src", "functions"))).filter((file) => file.endsWith(".js") && !file.startsWith("definition."));
    expect(functionFiles.length).toBeGreaterThan(20);
    expect(functionFiles.filter((file) => !bundled.has(`dist/src/functions/${file}`))).toEqual([]);
    // The token ranks as JSON beside the chunks (what the bundled app reads instead of gpt-tokenizer's modules).
    const ranks = JSON.parse(await readFile(join(root, "dist", "bundle", "ranks", "o200k_base.json"), "utf8")) as unknown[];
    expect(ranks.length).toBe(199_998);
  }, 60_000);

  it("starts the audit append worker from the bundle, where the bundled app (a chunk, the CLI) finds it, and it appends", async () => {
    const { auditAppendWorkerUrl } = await import("../../src/composition/auditAppendWorkerUrl.js");
    const { WorkerAuditAppender } = await import("../../src/adapters/workers/WorkerAuditAppender.js");
    const bundled = pathToFileURL(join(root, "dist", "bundle", "auditAppendWorker.js"));
    for (const from of ["functions.js", "chunks/audit-ABC123.js", "palisade.cjs"]) expect(auditAppendWorkerUrl(pathToFileURL(join(root, "dist", "bundle", from)).href)?.href).toBe(bundled.href);
    expect(auditAppendWorkerUrl(pathToFileURL(join(root, "dist", "src", "composition", "audit.js")).href)?.href).toBe(pathToFileURL(join(root, "dist", "src", "composition", "auditAppendWorker.js")).href);
    const never = { sign: () => Promise.reject(new Error("no checkpoint here")), verify: () => Promise.resolve(false) };
    const appender = new WorkerAuditAppender({
      workerUrl: bundled,
      workerData: { storage: { connectionString: "UseDevelopmentStorage=true" }, checkpointContainer: "c", checkpointEvery: 0, checkpointEveryInMs: 0, createIfMissing: false },
      signer: never,
      signatureVerifier: never,
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      timeoutInMs: 30_000,
    });
    try {
      // A message that is not JSON needs no storage: the worker loaded the bundle's chunks and ran the appender.
      expect(await appender.append([{ messageId: "m1", body: "not json {" }])).toMatchObject([{ status: "invalid", index: 0, messageId: "m1" }]);
    } finally {
      await appender.close();
    }
  }, 60_000);

  it("registers with the Functions worker, from package.json main (the bundle), every function and hook of the compiled files", async () => {
    const worker = join(await mkdtemp(join(tmpdir(), "palisade-worker-")), "fakeFunctionsWorker.cjs");
    await writeFile(worker, FAKE_FUNCTIONS_WORKER);
    const registrations = async (urls: readonly string[]) => {
      const script = `for (const url of ${JSON.stringify(urls)}) await import(url);`;
      const { stdout } = await run(process.execPath, ["--require", worker, "--input-type=module", "-e", script], { cwd: root, env: { ...process.env, PALISADE_LOG_LEVEL: "error" } });
      return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as { registered: string[]; hooks: string[] };
    };
    const main = (JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { main: string }).main;
    const functionsDirectory = join(root, "dist", "src", "functions");
    const compiled = [join(root, "dist", "src", "index.js"), ...(await readdir(functionsDirectory)).filter((file) => file.endsWith(".js")).map((file) => join(functionsDirectory, file))];
    const fromMain = await registrations([pathToFileURL(join(root, main)).href]);
    const fromCompiled = await registrations(compiled.map((file) => pathToFileURL(file).href));
    expect(fromMain.registered.length).toBeGreaterThan(20);
    expect([...fromMain.registered].sort()).toEqual([...fromCompiled.registered].sort());
    expect(fromMain.hooks).toEqual(["appTerminate"]);
  }, 60_000);

  it("exits non-zero naming the field when a policy is wrong", async () => {
    const failure = await run(process.execPath, [join(root, "bin", "palisade.js"), "policy", "validate", join(root, "test", "build", "fixtures", "bad-policy.yaml")], { cwd: root }).then(
      () => null,
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(/projects\[0\]\.residency/);
  }, 60_000);
});
