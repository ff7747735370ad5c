import { readFileSync } from "node:fs";
import { parsePolicy } from "../../../src/core/policy/parsePolicy.js";
import { type Policy } from "../../../src/core/policy/schema.js";

const sample = parsePolicy(readFileSync("config/policy.sample.yaml", "utf8"));

/** The sample policy (a deep copy, free to edit) and its version. */
export function samplePolicy(): { policy: Policy; version: string } {
  return { policy: structuredClone(sample.policy), version: sample.version };
}
