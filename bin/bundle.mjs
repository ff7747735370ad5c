#!/usr/bin/env node
// Bundles the compiled app (run by `npm run build`, after tsc): dist/bundle/palisade.js, what
// `bin/palisade.js` runs, and dist/bundle/functions.js, the Functions app (package.json `main`).
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
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

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

const result = await build({
  entryPoints: { palisade: join(root, "dist", "src", "cli", "index.js"), functions: "palisade:functions-entry" },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Whitespace and syntax only (~30 % fewer bytes to compile, ~8 % less CPU to the first answer):
  // identifiers keep their names, so stacks name their functions.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: "linked",
  chunkNames: "chunks/[name]-[hash]",
  external: ["@azure/functions-core"],
  plugins: [generatedModules],
  // CommonJS packages inside an ES module bundle still call require() for Node's own modules.
  banner: { js: 'import { createRequire as __bundleCreateRequire } from "node:module"; const require = __bundleCreateRequire(import.meta.url);' },
  logLevel: "warning",
  metafile: true,
});
// What each file holds, for `npx esbuild --analyze`-style questions (which package made a chunk big).
await writeFile(join(outdir, "metafile.json"), JSON.stringify(result.metafile));

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
