#!/usr/bin/env node
// Bundles the compiled app (run by `npm run build`, after tsc): dist/bundle/palisade.cjs, what
// `bin/palisade.js` runs (with a V8 code cache: bin/codeCache.cjs, trained here last), and
// dist/bundle/functions.js, the Functions app (package.json `main`).
//
// A cold `palisade host` spent most of its start-up resolving, reading and compiling some 900 ES and
// CommonJS modules; one bundle (plus a chunk per lazily loaded part: Blob Storage, MSAL, jose, admin
// and compliance services...) loads the same code from a few files. Whitespace and syntax are
// minified, names are not, so stacks keep their function names; the source maps beside each file
// map them back to dist/ and src/ (NODE_OPTIONS=--enable-source-maps, which costs start-up time).
//
// - The functions folder is read at bundle time, not at start-up: `local/loadFunctionDefinitions.js`
//   becomes a module that imports every function file of dist/src/functions, and functions.js imports
//   src/index.js and each of them, as the worker did when `main` globbed them.
// - gpt-tokenizer's encodings stay in node_modules (loaded by a computed specifier, later); their
//   ranks are also written as JSON to dist/bundle/ranks/, which the bundled app reads instead.
// - `@azure/functions-core` is what the Functions worker provides at run time; never bundled.
import { build } from "esbuild";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CLI_BUNDLE, TRAINED_NODE_FLAG_SETS, TRAINING_VARIABLE } from "./codeCache.cjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bundleDirectory = join(root, "dist", "bundle");
// Written beside it, then swapped in by two renames: an instance starting meanwhile (tests build while
// others run) sees the old bundle or the new one, never half of one.
const outdir = `${bundleDirectory}.next-${process.pid}`;
const previous = `${bundleDirectory}.old-${process.pid}`;
const functionsDirectory = join(root, "dist", "src", "functions");

const functionFiles = async () => (await readdir(functionsDirectory)).filter((file) => file.endsWith(".js") && !file.startsWith("definition.")).sort();

/** Modules made here from the functions folder: the host's definitions, and the Functions entry. */
const GENERATED = {
  /** `local/loadFunctionDefinitions.js`, with the folder's files as static imports. */
  "function-definitions": (files) =>
    [
      ...files.map((file, index) => `import * as f${index} from ${JSON.stringify(join(functionsDirectory, file))};`),
      `const modules = [${files.map((_, index) => `f${index}`).join(", ")}];`,
      `export const FUNCTIONS_DIRECTORY = ${JSON.stringify(functionsDirectory)};`,
      "export async function loadFunctionDefinitions() {",
      "  return modules.map((module) => module.definition).filter((definition) => typeof definition === 'object' && definition !== null && 'kind' in definition);",
      "}",
    ].join("\n"),
  /** What package.json `main` names for the Functions worker: src/index.js, then every function file. */
  "functions-entry": (files) => [join(root, "dist", "src", "index.js"), ...files.map((file) => join(functionsDirectory, file))].map((path) => `import ${JSON.stringify(path)};`).join("\n"),
};

const generatedModules = {
  name: "generated-modules",
  setup(builder) {
    builder.onResolve({ filter: /\/loadFunctionDefinitions\.js$/ }, () => ({ path: "function-definitions", namespace: "palisade" }));
    builder.onResolve({ filter: /^palisade:functions-entry$/ }, () => ({ path: "functions-entry", namespace: "palisade" }));
    builder.onLoad({ filter: /.*/, namespace: "palisade" }, async (args) => ({ resolveDir: functionsDirectory, loader: "js", contents: GENERATED[args.path](await functionFiles()) }));
  },
};

/**
 * The Azure SDKs' HTTP pipeline (@typespec/ts-http-runtime) asks `body instanceof FormData` of every
 * request. The first touch of that global loads Node's bundled undici (~50 ms of CPU, with http2 and
 * worker_threads), which nothing else on a cold instance's way to its first answer needs. Only a real
 * FormData carries that tag, and one can exist only once undici has loaded: ask the tag first.
 */
const FORM_DATA_TEST = 'typeof FormData !== "undefined" && body instanceof FormData';
const formDataTestsRewritten = new Set();
const formDataWithoutFetch = {
  name: "form-data-without-fetch",
  setup(builder) {
    builder.onLoad({ filter: /[\\/]@typespec[\\/]ts-http-runtime[\\/]dist[\\/].*\.js$/ }, async (args) => {
      const contents = await readFile(args.path, "utf8");
      if (!contents.includes(FORM_DATA_TEST)) return undefined;
      formDataTestsRewritten.add(args.path);
      return { contents: contents.replaceAll(FORM_DATA_TEST, `body?.[Symbol.toStringTag] === "FormData" && ${FORM_DATA_TEST}`), loader: "js" };
    });
  },
};

/** What both builds share. */
const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  // Whitespace and syntax only (~30 % fewer bytes to compile, ~8 % less CPU to the first answer):
  // identifiers keep their names, so stacks name their functions.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: "linked",
  external: ["@azure/functions-core"],
  plugins: [generatedModules, formDataWithoutFetch],
  logLevel: "warning",
  metafile: true,
};

// The Functions app (package.json `main`): ES modules, one chunk per lazily loaded part.
const result = await build({
  ...common,
  // The audit append's worker thread (src/composition/auditAppendWorker.ts) is an entry of its own:
  // dist/bundle/auditAppendWorker.js, sharing chunks with the app; the CLI's `palisade host` starts it too.
  entryPoints: { functions: "palisade:functions-entry", auditAppendWorker: join(root, "dist", "src", "composition", "auditAppendWorker.js") },
  outdir,
  splitting: true,
  format: "esm",
  chunkNames: "chunks/[name]-[hash]",
  // CommonJS packages inside an ES module bundle still call require() for Node's own modules.
  banner: { js: 'import { createRequire as __bundleCreateRequire } from "node:module"; const require = __bundleCreateRequire(import.meta.url);' },
});

// The CLI (`palisade host` included): ONE CommonJS function in one file, which bin/palisade.js compiles
// with vm.Script and a V8 code cache (Node 20 caches no ES module's compilation: `module.enableCompileCache`
// is Node 22). Lazily loaded parts stay lazy (esbuild wraps each in a function run on first import), and
// with a cache V8 neither parses nor compiles what it has cached. The file is exactly the function
// expression bin/codeCache.cjs compiles.
const cliResult = await build({
  ...common,
  entryPoints: [join(root, "dist", "src", "cli", "index.js")],
  outfile: join(outdir, CLI_BUNDLE),
  format: "cjs",
  // ES module code stays strict, as it was; import.meta.url is the bundle's own URL, as a chunk's was.
  banner: { js: '(function (exports, require, module, __filename, __dirname) {"use strict"; const __importMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  footer: { js: "})" },
  define: { "import.meta.url": "__importMetaUrl" },
});

// Pure ASCII, so reading it makes a one-byte string: five lines with a non-ASCII character (the DLP's
// regular expressions, licence comments) made Node decode the whole 5 MB into a two-byte string, ~80 ms
// of CPU at every start instead of ~5. A \uXXXX escape means the same in a string, a regular
// expression and an identifier; after a backslash it would not, so the build stops instead.
const cliFile = join(outdir, CLI_BUNDLE);
const cliSource = await readFile(cliFile, "utf8");
if (/\\[^\x00-\x7f]/.test(cliSource)) throw new Error("bin/bundle.mjs: a non-ASCII character follows a backslash in the CLI bundle; escape it in the source");
await writeFile(cliFile, cliSource.replace(/[^\x00-\x7f]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`));

// A new version of the runtime that words the test differently must not quietly load undici again.
if (![...formDataTestsRewritten].some((path) => /formData\.js$/.test(path))) throw new Error("bin/bundle.mjs: @typespec/ts-http-runtime's FormData test was not found; update formDataWithoutFetch");
// What each file holds, for `npx esbuild --analyze`-style questions (which package made a chunk big).
await writeFile(join(outdir, "metafile.json"), JSON.stringify({ inputs: { ...result.metafile.inputs, ...cliResult.metafile.inputs }, outputs: { ...result.metafile.outputs, ...cliResult.metafile.outputs } }));

// gpt-tokenizer's ranks as JSON (src/adapters/tokenizer/JsonTokenRankFiles.ts): parsed in a third of
// the CPU of the 2.2 MB JavaScript module, and no source text kept. An array with holes would not
// survive JSON; none has any.
await mkdir(join(outdir, "ranks"));
for (const name of ["o200k_base", "cl100k_base"]) {
  const ranks = (await import(`gpt-tokenizer/bpeRanks/${name}`)).default;
  if (Object.keys(ranks).length !== ranks.length) throw new Error(`gpt-tokenizer's ${name} ranks have holes: JSON cannot hold them`);
  await writeFile(join(outdir, "ranks", `${name}.json`), JSON.stringify(ranks));
}

await rename(bundleDirectory, previous).catch((error) => {
  if (error.code !== "ENOENT") throw error;
});
await rename(outdir, bundleDirectory);
await rm(previous, { recursive: true, force: true });

/**
 * The code cache a first `palisade host` reads (bin/codeCache.cjs): the host started once per flag set
 * with no stack, answering one request (a 503: it has no settings). Its whole module graph and the
 * host's request path are compiled by then, which a cold instance would otherwise compile before its
 * first answer. A failure costs only the cache: that instance compiles as if there were none.
 */
async function trainHostCodeCache(nodeFlags) {
  const child = spawn(process.execPath, [...nodeFlags, join(root, "bin", "palisade.js"), "host", "--port", "0", "--no-timers", "--no-service-bus", "--json"], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", [TRAINING_VARIABLE]: "1", PALISADE_LOG_LEVEL: "error" },
    stdio: ["ignore", "pipe", "ignore"],
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    let output = "";
    for await (const chunk of child.stdout) {
      output += chunk;
      if (output.includes("\n")) break;
    }
    const { url } = JSON.parse(output.split("\n")[0]);
    const response = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    await response.arrayBuffer();
  } finally {
    // The cache is written as the process exits.
    child.kill("SIGTERM");
    if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
    clearTimeout(killer);
  }
}
for (const nodeFlags of TRAINED_NODE_FLAG_SETS) {
  await trainHostCodeCache(nodeFlags).catch((error) => process.stderr.write(`bin/bundle.mjs: no trained code cache for \`palisade host\` ${nodeFlags.join(" ")}: ${error.message}\n`));
}
