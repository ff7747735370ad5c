// How bin/palisade.js runs the CLI bundle (bin/bundle.mjs makes it): compiled by vm.Script with a V8
// code cache, so a start does not parse and compile again the ~5 MB of JavaScript the last run of the
// same command compiled. Node 20 has no compile cache for ES modules (`module.enableCompileCache` is
// Node 22); a CommonJS function compiled by vm.Script takes V8's cachedData.
//
// - The build writes a cache of the file's top level (its parse) beside it. The first run of each
//   command (`host`, `keys`, ...) writes its own to dist/bundle/cache/, with every function it
//   compiled by then: a server once its first answer has gone, other commands as they exit.
// - V8 checks a cache against its version, flags and the source, and rejects one that does not match
//   (`cachedDataRejected`): that run compiles as if there were none and writes a new one. The file
//   name carries V8's version, so two Node versions do not overwrite each other's.
// - Each cache file starts with the SHA-256 of the rest. V8 checks a cache's header, not its contents
//   (release builds skip the checksum), and a damaged one can crash the process as it deserializes:
//   one that does not match its digest is not used.
// - A cache that cannot be written (a read-only install) is skipped: it is only a cache.
import { createHash } from "node:crypto";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Script, constants } from "node:vm";

/** The CLI bundle's file name in dist/bundle/. */
export const CLI_BUNDLE = "palisade.cjs";

/** What a cache is valid for: V8's version and the machine's architecture. */
export function codeCacheTag() {
  return `${process.versions.v8}-${process.arch}`.replace(/[^\w.-]/g, "_");
}

/** After a server's first answer, the cache waits this long, so what that answer ran is compiled. */
const AFTER_FIRST_ANSWER_IN_MS = 1_000;

const DIGEST_BYTES = 32;

/** A cache as it is stored: its SHA-256, then the cache. */
export function sealCodeCache(data) {
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
export function runCachedBundle(file) {
  const command = /^[a-z][a-z-]*$/.test(process.argv[2] ?? "") ? process.argv[2] : "other";
  const ownCache = join(dirname(file), "cache", `${CLI_BUNDLE}.${command}.${codeCacheTag()}.cache`);
  const ownData = readSealed(ownCache);
  const cachedData = ownData ?? readSealed(join(dirname(file), `${CLI_BUNDLE}.${codeCacheTag()}.cache`));
  const script = new Script(readFileSync(file, "utf8"), {
    filename: file,
    ...(cachedData === undefined ? {} : { cachedData }),
    // import() of what is not bundled (gpt-tokenizer's encodings, by a computed name) resolves as from the file.
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (ownData === undefined || script.cachedDataRejected === true) writeWhenWarm(script, ownCache);
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
}
