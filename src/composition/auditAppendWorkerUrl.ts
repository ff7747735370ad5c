import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The append worker's script beside this build: `dist/bundle/auditAppendWorker.js` from the bundles
 * (the Functions app's entry or chunks, the CLI's `palisade.cjs`), else `auditAppendWorker.js` beside
 * this module (dist/src/composition). Null when it is not there (the TypeScript sources, under tests).
 */
export function auditAppendWorkerUrl(here: string = import.meta.url): URL | null {
  const bundle = /^(.*\/dist\/bundle\/)/.exec(here);
  const url = bundle?.[1] !== undefined ? new URL("auditAppendWorker.js", bundle[1]) : new URL("./auditAppendWorker.js", here);
  return existsSync(fileURLToPath(url)) ? url : null;
}
