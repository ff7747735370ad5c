import { type ScanOptions, scanOptionsFromPolicy } from "../../dlp/index.js";
import { type ProjectPolicy } from "../../policy/schema.js";

const byPolicy = new WeakMap<ProjectPolicy["dlp"], ScanOptions>();

/**
 * A project's scan options, made once per (immutable) policy object instead of for every scanned
 * text: two array copies and an object each time otherwise. Frozen, since every request shares them.
 */
export function scanOptionsFor(dlp: ProjectPolicy["dlp"]): ScanOptions {
  let options = byPolicy.get(dlp);
  if (options === undefined) {
    const made = scanOptionsFromPolicy(dlp);
    if (made.allowlist) Object.freeze(made.allowlist);
    if (made.phoneRegions) Object.freeze(made.phoneRegions);
    options = Object.freeze(made);
    byPolicy.set(dlp, options);
  }
  return options;
}
