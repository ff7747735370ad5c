import { type z } from "zod";
import { PalisadeError } from "../errors.js";

type Issue = z.core.$ZodIssue;

/**
 * The issue to report: the first, or inside a union none of whose branches matched, the first issue
 * of the branch that came closest (fewest issues; the first branch on a tie), so a function tool call
 * missing its arguments names `function.arguments` rather than the whole call.
 */
function reportedIssue(issue: Issue | undefined): { readonly path: readonly PropertyKey[]; readonly message: string } | undefined {
  if (issue === undefined) return undefined;
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    const closest = issue.errors.reduce((best, branch) => (branch.length < best.length ? branch : best));
    const inner = reportedIssue(closest[0]);
    if (inner !== undefined) return { path: [...issue.path, ...inner.path], message: inner.message };
  }
  return issue;
}

/** Turns a schema failure into a 400 that names the offending field (as OpenAI's `param`). */
export function requestValidationError(error: z.ZodError): PalisadeError {
  const issue = reportedIssue(error.issues[0]);
  const param = issue ? issue.path.map((key) => (typeof key === "number" ? `[${key}]` : String(key))).join(".").replace(/\.\[/g, "[") : null;
  const reason = issue?.message ?? "is invalid";
  const message = param ? `Invalid value for '${param}': ${reason}.` : `Invalid request: ${reason}.`;
  return new PalisadeError(400, "invalid_request_error", "invalid_request", message, { param: param || null });
}
