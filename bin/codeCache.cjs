// How bin/palisade.js runs the CLI bundle (bin/bundle.mjs makes it): compiled by vm.Script with a V8
// code cache, so a start neither parses the 5 MB file nor compiles again the functions the last run of
// the same command compiled. Node 20 has no compile cache for ES modules (`module.enableCompileCache`
// is Node 22); a CommonJS function compiled by vm.Script takes V8's cachedData.
//
// - V8 takes a cache only from the same V8 version and the same V8 flags (`--heap-growing-percent`
//   included), and checks the source's length: a cache file is named for the command, V8's version
//   and the process's node flags, and one V8 rejects (`cachedDataRejected`) is compiled without and
//   written again.
// - Warm caches (dist/bundle/cache/) are written by a run: a server once its first answer has gone (so
//   what that answer ran is compiled), other commands as they exit. Until a command has one, it reads
//   the one the build trained (beside the bundle: `palisade host` started once with no stack, for
//   Node's default flags and for the worker's, TRAINED_NODE_FLAG_SETS) and writes its own.
// - Each cache file starts with the SHA-256 of the rest. V8 checks a cache's header, not its contents
//   (release builds skip the checksum), and a damaged one can crash the process as it deserializes:
//   one that does not match its digest is not used.
// - A cache that cannot be written (a read-only install) is skipped: it is only a cache.
// - CommonJS, as bin/palisade.js is (bin/package.json): a start then needs no ES module loader at all.
"use strict";
const { createHash } = require("node:crypto");
const { subscribe, unsubscribe } = require("node:diagnostics_channel");
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const { dirname, join } = require("node:path");
const { Script, constants } = require("node:vm");

/** The CLI bundle's file name in dist/bundle/. */
const CLI_BUNDLE = "palisade.cjs";

/**
 * The node flags the build trains a `palisade host` cache for: none, and those infra gives the
 * Functions worker (`languageWorkers__node__arguments`, docs/conventions.md), which the side-by-side
 * harness and the cold-start bench use too.
 */
const TRAINED_NODE_FLAG_SETS = [[], ["--heap-growing-percent=50"]];

/** Set by the build's training run: write the trained cache, not a warm one. */
const TRAINING_VARIABLE = "PALISADE_CODE_CACHE_TRAINING";

const DIGEST_BYTES = 32;
/** After a server's first answer, the cache waits this long, so what that answer ran is compiled. */
const AFTER_FIRST_ANSWER_IN_MS = 1_000;

/**
 * Node's own options that leave V8's flags as they are (preloads, profilers, source maps, the
 * inspector): a run with them reads the same cache. Each takes its value after `=` or as the next
 * argument.
 */
const NOT_V8_OPTIONS = /^(--import|--require|-r|--loader|--experimental-loader|--env-file|--conditions|-C|--cpu-prof-dir|--cpu-prof-name|--cpu-prof-interval|--heap-prof-dir|--heap-prof-name|--heap-prof-interval|--diagnostic-dir)(=|$)|^(--cpu-prof|--heap-prof|--enable-source-maps|--inspect[-\w]*|--title=.*|--no-warnings|--trace-warnings|--trace-uncaught)$/;

/** The node flags that can change V8's: all of `execArgv` but NOT_V8_OPTIONS and their values. */
function v8RelevantFlags(execArgv) {
  const kept = [];
  for (let index = 0; index < execArgv.length; index++) {
    const argument = execArgv[index];
    const match = NOT_V8_OPTIONS.exec(argument);
    if (match === null) kept.push(argument);
    // `--import /x.js`: the value is the next argument.
    else if (match[2] === "") index++;
  }
  return kept;
}

/**
 * The part of a cache file's name that says which runs it fits: command, the bundle's content, V8's
 * version, the architecture and node flags. V8 checks only the source's length: a cache written by an
 * instance still running an older bundle of the same length must not be taken for the new one.
 */
function codeCacheName(command, nodeFlags, sourceDigest) {
  const flags = createHash("sha256").update(JSON.stringify(v8RelevantFlags(nodeFlags))).digest("hex").slice(0, 12);
  return `${CLI_BUNDLE}.${command}.${sourceDigest.slice(0, 16)}.${process.versions.v8}-${process.arch}.${flags}`.replace(/[^\w.-]/g, "_");
}

/** Where a warm cache (a run's) and the trained one (the build's) of a command live, beside `file`. */
function codeCachePaths(file, command, nodeFlags, sourceDigest) {
  const name = codeCacheName(command, nodeFlags, sourceDigest);
  return { warm: join(dirname(file), "cache", `${name}.cache`), trained: join(dirname(file), `${name}.trained.cache`) };
}

/** A cache as it is stored: its SHA-256, then the cache. */
function sealCodeCache(data) {
  return Buffer.concat([createHash("sha256").update(data).digest(), data]);
}

/** The cache stored at `path`, or undefined when there is none or it is not what was written. */
function readSealed(path) {
  let stored;
  try {
    stored = readFileSync(path);
  } catch {
    return undefined;
  }
  const data = stored.subarray(DIGEST_BYTES);
  return stored.length > DIGEST_BYTES && createHash("sha256").update(data).digest().equals(stored.subarray(0, DIGEST_BYTES)) ? data : undefined;
}

function writeWhenWarm(script, path) {
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    unsubscribe("http.server.response.finish", onAnswer);
    try {
      mkdirSync(dirname(path), { recursive: true });
      // Renamed into place: another instance starting meanwhile reads the old cache or the new one.
      const next = `${path}.${process.pid}.next`;
      writeFileSync(next, sealCodeCache(script.createCachedData()));
      renameSync(next, path);
    } catch {
      // Read-only or full: this run's work is not kept, and the next run compiles again.
    }
  };
  function onAnswer() {
    unsubscribe("http.server.response.finish", onAnswer);
    setTimeout(write, AFTER_FIRST_ANSWER_IN_MS).unref();
  }
  subscribe("http.server.response.finish", onAnswer);
  process.once("exit", write);
}

/** Runs the CLI bundle at `file` (a function expression taking CommonJS's five arguments). */
function runCachedBundle(file) {
  const command = /^[a-z][a-z-]*$/.test(process.argv[2] ?? "") ? process.argv[2] : "other";
  const source = readFileSync(file);
  const paths = codeCachePaths(file, command, process.execArgv, createHash("sha256").update(source).digest("hex"));
  const training = process.env[TRAINING_VARIABLE] === "1";
  const warm = training ? undefined : readSealed(paths.warm);
  const cachedData = warm ?? readSealed(paths.trained);
  // latin1: the build makes the bundle pure ASCII, and this makes it a one-byte string as it is.
  const script = new Script(source.toString("latin1"), {
    filename: file,
    ...(cachedData === undefined ? {} : { cachedData }),
    // import() of what is not bundled (gpt-tokenizer's encodings, by a computed name) resolves as from the file.
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (training) writeWhenWarm(script, paths.trained);
  else if (warm === undefined || script.cachedDataRejected === true) writeWhenWarm(script, paths.warm);
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
}

module.exports = { CLI_BUNDLE, TRAINED_NODE_FLAG_SETS, TRAINING_VARIABLE, codeCacheName, codeCachePaths, sealCodeCache, runCachedBundle };
