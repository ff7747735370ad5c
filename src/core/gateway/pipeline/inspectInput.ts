import { type Clock } from "../../clock.js";
import { type Finding, Redactor, countByType, scan } from "../../dlp/index.js";
import { PalisadeError } from "../../errors.js";
import { type DataClass, type DlpAction, type ProjectPolicy } from "../../policy/schema.js";
import { dlpClassFor } from "../../routing/classify.js";
import { type ContentField, type Operation } from "./Operation.js";
import { scanOptionsFor } from "./scanOptionsFor.js";
import { seamFindings } from "./seamFindings.js";
import { type FindingCounts } from "./OutputScanner.js";

export interface InputInspection<TRequest> {
  /** The request to send upstream (redacted when the action was redact). */
  readonly request: TRequest;
  readonly counts: FindingCounts;
  readonly findingCount: number;
  /** The action the policy chose; `allow` when nothing was found. */
  readonly action: DlpAction;
  readonly redactions: number;
  /** The class unredacted findings raise the request to (null when none go upstream). */
  readonly raisedTo: DataClass | null;
  /** Kept for the output, so the same value gets the same placeholder in both directions. */
  readonly redactor: Redactor;
  /** Parts DLP cannot read (images, audio, files). */
  readonly uninspectable: number;
  /** The content fields of the request as received (what was scanned), so later stages need not list them again. */
  readonly receivedContents: readonly ContentField[];
}

const describeCounts = (counts: FindingCounts): string =>
  Object.entries(counts)
    .map(([type, count]) => `${type} x${count ?? 0}`)
    .join(", ");

export function sensitiveDataDetected(where: "prompt" | "completion", counts: FindingCounts, param: string | null = "messages"): PalisadeError {
  const advice =
    where === "prompt"
      ? "Remove the sensitive data, or ask the project owner to change the DLP policy for this data class."
      : "The model's answer contained sensitive data and this project blocks it.";
  return new PalisadeError(422, "invalid_request_error", "sensitive_data_detected", `The ${where} contains sensitive data (${describeCounts(counts)}). ${advice}`, {
    param: where === "prompt" ? param : null,
  });
}

export function inspectionFailed(): PalisadeError {
  return new PalisadeError(503, "service_unavailable_error", "inspection_failed", "Palisade could not finish inspecting this request for sensitive data, so it was not sent. Try again; if it persists, shorten the request.");
}

const keyOf = (field: ContentField): string => (field.kind === "identifier" ? `\u0000${field.text}` : field.text);

/** A redaction written into a name keeps the name's alphabet ([A-Za-z0-9_-]). */
const asIdentifier = (text: string): string => text.replace(/[^A-Za-z0-9_-]/g, "_");

/**
 * Scans every field the operation says carries content and applies the project's action for the
 * declared class: block (returned, the pipeline refuses with counts only), redact (stable
 * placeholders, written back field by field), route or allow (the findings raise the data class).
 * Fails closed: a scan that throws or overruns its time budget blocks the request.
 */
export function inspectInput<TRequest>(operation: Operation<TRequest>, request: TRequest, project: ProjectPolicy, declaredClass: DataClass, clock: Clock): InputInspection<TRequest> {
  const options = scanOptionsFor(project.dlp);
  const startedAt = clock.nowInMs();
  const fields = operation.contents(request);
  const uninspectable = operation.uninspectableParts(request);
  const findingsByText = new Map<string, Finding[]>();
  const all: Finding[] = [];
  let seams: ReturnType<typeof seamFindings> | undefined;
  try {
    for (const field of fields) {
      const key = keyOf(field);
      if (findingsByText.has(key)) continue;
      // In a name, `_` separates words (pay_4111-1111-...): scanned as a space, at the same offsets.
      const findings = scan(field.kind === "identifier" ? field.text.replace(/_/g, " ") : field.text, options);
      findingsByText.set(key, findings);
      all.push(...findings);
    }
    seams = seamFindings(fields, options, (field) => findingsByText.get(keyOf(field)) ?? []);
    all.push(...seams.found);
  } catch {
    throw inspectionFailed();
  }
  if (clock.nowInMs() - startedAt > project.dlp.timeoutInMs) throw inspectionFailed();

  const redactor = new Redactor();
  const counts = countByType(all);
  // Each outcome one literal (no base object spread into another).
  const findingCount = all.length;
  if (findingCount === 0) return { request, counts, findingCount, redactions: 0, redactor, uninspectable, receivedContents: fields, action: "allow", raisedTo: null };
  const action = project.dlp.input[declaredClass];
  if (action === "block") return { request, counts, findingCount, redactions: 0, redactor, uninspectable, receivedContents: fields, action, raisedTo: null };
  if (action !== "redact") return { request, counts, findingCount, redactions: 0, redactor, uninspectable, receivedContents: fields, action, raisedTo: dlpClassFor(Object.keys(counts)) };

  // A key (a property name) cannot be redacted in place: what it holds refuses the request instead.
  if (fields.some((field) => field.readOnly === true && (findingsByText.get(keyOf(field))?.length ?? 0) > 0)) {
    return { request, counts, findingCount, redactions: 0, redactor, uninspectable, receivedContents: fields, action: "block", raisedTo: null };
  }
  let redactions = 0;
  const replacements = new Map<string, string>();
  fields.forEach((field, index) => {
    const own = findingsByText.get(keyOf(field)) ?? [];
    const split = seams?.byField.get(index);
    const findings = split === undefined ? own : [...own, ...split];
    if (findings.length === 0) return;
    redactions += findings.length;
    const redacted = redactor.redact(field.text, findings).text;
    const written = field.kind === "identifier" ? asIdentifier(redacted) : redacted;
    replacements.set(field.path, field.encode === undefined ? written : field.encode(written));
  });
  return { request: operation.withContents(request, replacements), counts, findingCount, redactions, redactor, uninspectable, receivedContents: fields, action, raisedTo: null };
}
