import { type Redactor, StreamingInspector, countByType, scan, scanOptionsFromPolicy } from "../dlp/index.js";
import { type ProjectPolicy } from "../policy/schema.js";
import { type Completion, type CompletionChunk } from "../upstream/CompletionProvider.js";
import { type FindingCounts } from "./inspectPrompt.js";

export interface CompletionInspection {
  readonly body: Completion["body"];
  readonly counts: FindingCounts;
  readonly redactions: number;
  /** The project blocks sensitive output and this answer had some: the caller must not see `body`. */
  readonly blocked: boolean;
}

function mergeCounts(into: Record<string, number>, counts: FindingCounts): void {
  for (const [type, count] of Object.entries(counts)) into[type] = (into[type] ?? 0) + (count ?? 0);
}

/** Applies the project's output action to a whole completion: allow, redact, or block (the caller answers 422). */
export function inspectCompletion(completion: Completion, project: ProjectPolicy, redactor: Redactor): CompletionInspection {
  const action = project.dlp.output;
  if (action === "allow") return { body: completion.body, counts: {}, redactions: 0, blocked: false };
  const options = scanOptionsFromPolicy(project.dlp);
  const counts: Record<string, number> = {};
  let redactions = 0;
  const choices = completion.body.choices.map((choice) => {
    const content = choice.message?.content;
    if (typeof content !== "string" || content === "") return choice;
    const findings = scan(content, options);
    if (findings.length === 0) return choice;
    mergeCounts(counts, countByType(findings));
    redactions += findings.length;
    if (action === "block") return choice;
    return { ...choice, message: { ...choice.message, role: choice.message?.role ?? "assistant", content: redactor.redact(content, findings).text } };
  });
  if (action === "block" && redactions > 0) return { body: completion.body, counts, redactions: 0, blocked: true };
  return { body: { ...completion.body, choices }, counts, redactions, blocked: false };
}

export interface StreamInspectionResult {
  readonly counts: FindingCounts;
  readonly blocked: boolean;
}

/**
 * Inspects a streamed completion as it flows. Each choice has its own inspector, which holds back
 * only the trailing characters that could still begin a finding and releases the rest at once.
 * Returns the chunks to send; the caller reads `result()` when the stream is over.
 */
export class CompletionStreamInspector {
  private readonly inspectors = new Map<number, StreamingInspector>();
  private blocked = false;

  constructor(
    private readonly project: ProjectPolicy,
    private readonly redactor: Redactor,
  ) {}

  /** Rewrites one chunk's content deltas; null once the output has been blocked. */
  inspect(chunk: CompletionChunk): CompletionChunk | null {
    if (this.blocked) return null;
    if (this.project.dlp.output === "allow") return chunk;
    const choices = chunk.choices.map((choice) => {
      const content = choice.delta?.content;
      const hasContent = typeof content === "string" && content !== "";
      // A finishing choice releases what it held back now: no content may follow its finish_reason.
      const finishing = choice.finish_reason !== null && choice.finish_reason !== undefined;
      if (!hasContent && !finishing) return choice;
      const inspector = this.inspectorFor(choice.index);
      let release = "";
      if (typeof content === "string" && content !== "") {
        const verdict = inspector.push(content);
        if (verdict.blocked) this.blocked = true;
        release += verdict.release;
      }
      if (finishing && !this.blocked) {
        const verdict = inspector.end();
        if (verdict.blocked) this.blocked = true;
        release += verdict.release;
      }
      if (!hasContent && release === "") return choice;
      return { ...choice, delta: { ...choice.delta, content: release } };
    });
    if (this.blocked) return null;
    return { ...chunk, choices };
  }

  /** Releases what each choice still holds back, as final chunks; null when the output was blocked. */
  finish(template: CompletionChunk | null): CompletionChunk[] | null {
    if (this.blocked) return null;
    const tail: CompletionChunk[] = [];
    for (const [index, inspector] of this.inspectors) {
      const verdict = inspector.end();
      if (verdict.blocked) {
        this.blocked = true;
        return null;
      }
      if (verdict.release !== "") {
        tail.push({ ...(template ?? {}), choices: [{ index, delta: { content: verdict.release }, finish_reason: null }], usage: null });
      }
    }
    return tail;
  }

  result(): StreamInspectionResult {
    const counts: Record<string, number> = {};
    for (const inspector of this.inspectors.values()) mergeCounts(counts, inspector.counts);
    return { counts, blocked: this.blocked };
  }

  private inspectorFor(index: number): StreamingInspector {
    let inspector = this.inspectors.get(index);
    if (!inspector) {
      const action = this.project.dlp.output;
      inspector = new StreamingInspector({ ...scanOptionsFromPolicy(this.project.dlp), action: action === "allow" ? "allow" : action }, this.redactor);
      this.inspectors.set(index, inspector);
    }
    return inspector;
  }
}
