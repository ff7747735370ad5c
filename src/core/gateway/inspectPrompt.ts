import { type Clock } from "../clock.js";
import { Redactor, type EntityType, type Finding, countByType, scan, scanOptionsFromPolicy } from "../dlp/index.js";
import { PalisadeError } from "../errors.js";
import { type DataClass, type DlpAction, type ProjectPolicy } from "../policy/schema.js";
import { dlpClassFor } from "../routing/classify.js";
import { type ChatCompletionRequest, mapMessageText, textPartsOf } from "./chatRequest.js";

export type FindingCounts = Partial<Record<EntityType, number>>;

export interface PromptInspection {
  /** The request to send upstream (redacted when the action was redact). */
  readonly request: ChatCompletionRequest;
  readonly counts: FindingCounts;
  readonly findingCount: number;
  /** The action the policy chose; `allow` when nothing was found. */
  readonly action: DlpAction;
  /** Redactions made in the prompt. */
  readonly redactions: number;
  /** The class unredacted findings raise the request to (null when none go upstream). */
  readonly raisedTo: DataClass | null;
  /** Kept for the completion, so the same value gets the same placeholder in both directions. */
  readonly redactor: Redactor;
}

const describeCounts = (counts: FindingCounts): string =>
  Object.entries(counts)
    .map(([type, count]) => `${type} x${count ?? 0}`)
    .join(", ");

export function sensitiveDataDetected(where: "prompt" | "completion", counts: FindingCounts): PalisadeError {
  const advice =
    where === "prompt"
      ? "Remove the sensitive data, or ask the project owner to change the DLP policy for this data class."
      : "The model's answer contained sensitive data and this project blocks it.";
  return new PalisadeError(422, "invalid_request_error", "sensitive_data_detected", `The ${where} contains sensitive data (${describeCounts(counts)}). ${advice}`, {
    param: where === "prompt" ? "messages" : null,
  });
}

export function inspectionFailed(): PalisadeError {
  return new PalisadeError(503, "service_unavailable_error", "inspection_failed", "Palisade could not finish inspecting this request for sensitive data, so it was not sent. Try again; if it persists, shorten the request.");
}

/**
 * Scans every text the caller sent and applies the project's action for the declared class:
 * block (422, types and counts only), redact (stable placeholders), route or allow (the findings
 * raise the data class, so routing sends the request only where that class may go).
 * Fails closed: a scan that throws or overruns its time budget blocks the request.
 */
export function inspectPrompt(request: ChatCompletionRequest, project: ProjectPolicy, declaredClass: DataClass, clock: Clock): PromptInspection {
  const options = scanOptionsFromPolicy(project.dlp);
  const startedAt = clock.nowInMs();
  const findingsByText = new Map<string, Finding[]>();
  const all: Finding[] = [];
  try {
    for (const message of request.messages) {
      for (const text of textPartsOf(message)) {
        if (findingsByText.has(text)) continue;
        const findings = scan(text, options);
        findingsByText.set(text, findings);
        all.push(...findings);
      }
    }
  } catch {
    throw inspectionFailed();
  }
  if (clock.nowInMs() - startedAt > project.dlp.timeoutInMs) throw inspectionFailed();

  const redactor = new Redactor();
  const counts = countByType(all);
  if (all.length === 0) return { request, counts, findingCount: 0, action: "allow", redactions: 0, raisedTo: null, redactor };

  const action = project.dlp.input[declaredClass];
  // Returned, not thrown, so the refusal's audit event can count what was found; the service refuses it.
  if (action === "block") return { request, counts, findingCount: all.length, action, redactions: 0, raisedTo: null, redactor };
  if (action !== "redact") {
    return { request, counts, findingCount: all.length, action, redactions: 0, raisedTo: dlpClassFor(Object.keys(counts)), redactor };
  }
  let redactions = 0;
  const messages = request.messages.map((message) =>
    mapMessageText(message, (text) => {
      const findings = findingsByText.get(text) ?? [];
      if (findings.length === 0) return text;
      redactions += findings.length;
      return redactor.redact(text, findings).text;
    }),
  );
  return { request: { ...request, messages }, counts, findingCount: all.length, action, redactions, raisedTo: null, redactor };
}
