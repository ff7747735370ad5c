import { type ContentField } from "../gateway/pipeline/Operation.js";
import { type InputCheck, type InputCheckInput, type InputCheckVerdict } from "../gateway/pipeline/PipelineDeps.js";
import { type SafetyTexts } from "./ContentSafetyScreen.js";
import { type DataClass } from "../policy/schema.js";
import { type ContentSafetyStage, type SafetyProject, safetyOutcomeOf } from "./ContentSafetyStage.js";
import { safetyAuditDetails } from "./safetyAudit.js";

/** The user's words and the documents among an operation's content fields (names and app instructions are not screened). */
export function safetyTextsOf(contents: readonly ContentField[]): SafetyTexts {
  const user: string[] = [];
  const documents: string[] = [];
  for (const field of contents) {
    if (field.kind !== "text" || field.text.trim() === "") continue;
    if (field.origin === "user") user.push(field.text);
    else if (field.origin === "document") documents.push(field.text);
  }
  return { userPrompt: user.join("\n\n"), documents };
}

/**
 * Content safety as the pipeline's input check (between classify and limit): Prompt Shields and
 * harm categories on the inspected (redacted) contents. Refuses by throwing (400 content_filter, or
 * 503 when a fail-closed check is down); a flag or a fail-open pass comes back as audit details, so
 * it is recorded on the request's events.
 */
export class ContentSafetyCheck implements InputCheck {
  readonly name = "content_safety";

  constructor(private readonly stage: ContentSafetyStage) {}

  applies(project: SafetyProject, dataClass: DataClass): boolean {
    return this.stage.applies(project, dataClass);
  }

  async check(input: InputCheckInput): Promise<InputCheckVerdict | undefined> {
    if (!this.stage.applies(input.project, input.dataClass)) return undefined;
    const verdict = await this.stage.screenInput(input.project, input.dataClass, safetyTextsOf(input.contents));
    // A pass is recorded when something was found, a check failed open, or the texts were too long to screen whole.
    const recorded = verdict.action !== "allow" || verdict.failedOpen.length > 0 || verdict.truncated;
    return { outcome: safetyOutcomeOf(verdict), ...(recorded ? { auditDetails: safetyAuditDetails(verdict, "palisade", "prompt") } : {}) };
  }
}
