import { createHash } from "node:crypto";
import { parse as parseYaml } from "yaml";
import { type z } from "zod";
import { type Policy, policySchema } from "./schema.js";

export interface LoadedPolicy {
  readonly policy: Policy;
  /** SHA-256 of the policy text: every audit event records it, so a change of policy is visible. */
  readonly version: string;
}

export class PolicyError extends Error {
  override readonly name = "PolicyError";
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`Invalid policy ${source}:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => (typeof key === "number" ? `${text}[${key}]` : text === "" ? String(key) : `${text}.${String(key)}`), "");
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => `${formatPath(issue.path) || "(root)"}: ${issue.message}`);
}

/** Parses policy text (YAML or JSON). Throws a PolicyError that names each bad field and what is wrong. */
export function parsePolicy(text: string, source = "(inline)"): LoadedPolicy {
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] ?? "unreadable" : "unreadable";
    throw new PolicyError(source, [`not valid YAML or JSON: ${reason}`]);
  }
  const result = policySchema.safeParse(document);
  if (!result.success) throw new PolicyError(source, describeIssues(result.error.issues));
  return { policy: result.data, version: createHash("sha256").update(text).digest("hex") };
}
