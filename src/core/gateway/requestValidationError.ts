import { type z } from "zod";
import { PalisadeError } from "../errors.js";

/** Turns a schema failure into a 400 that names the offending field (as OpenAI's `param`). */
export function requestValidationError(error: z.ZodError): PalisadeError {
  const issue = error.issues[0];
  const param = issue ? issue.path.map((key) => (typeof key === "number" ? `[${key}]` : String(key))).join(".").replace(/\.\[/g, "[") : null;
  const reason = issue?.message ?? "is invalid";
  const message = param ? `Invalid value for '${param}': ${reason}.` : `Invalid request: ${reason}.`;
  return new PalisadeError(400, "invalid_request_error", "invalid_request", message, { param: param || null });
}
