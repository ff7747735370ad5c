import { directivesIn, isDocumentAttack, isUserPromptAttack, severityOf } from "../../local/contentsafety/recognise.js";
import {
  type AnalyzeTextInput,
  type AnalyzeTextResult,
  type ContentSafety,
  type ContentSafetyCallOptions,
  ContentSafetyUnavailableError,
  type ShieldPromptInput,
  type ShieldPromptResult,
} from "../../src/core/safety/ContentSafety.js";

/**
 * In-memory ContentSafety with the emulator's recognisers (so the contract suite holds for both):
 * classic attacks and `[[cs:...]]` directives. Counts calls and can be made unavailable.
 */
export class FakeContentSafety implements ContentSafety {
  readonly calls = { shieldPrompt: 0, analyzeText: 0 };
  /** Calls seen, in order, with when each started and ended (to show the two run in parallel). */
  readonly timeline: { readonly call: "shieldPrompt" | "analyzeText"; readonly event: "start" | "end" }[] = [];
  unavailable = false;
  /** Each call waits this long (a resolved timer), so parallel calls overlap. */
  delayInMs = 0;
  readonly blocklists = new Map<string, string[]>();

  async shieldPrompt(input: ShieldPromptInput, options: ContentSafetyCallOptions): Promise<ShieldPromptResult> {
    return this.run("shieldPrompt", options, [input.userPrompt, ...input.documents], () => ({
      userPromptAttack: isUserPromptAttack(input.userPrompt),
      documentAttacks: input.documents.map((document) => isDocumentAttack(document)),
    }));
  }

  async analyzeText(input: AnalyzeTextInput, options: ContentSafetyCallOptions): Promise<AnalyzeTextResult> {
    return this.run("analyzeText", options, [input.text], () => {
      const lower = input.text.toLowerCase();
      const blocklistMatches = input.blocklistNames.flatMap((name) =>
        (this.blocklists.get(name) ?? []).flatMap((item, index) => (lower.includes(item.toLowerCase()) ? [{ blocklistName: name, blocklistItemId: `${name}-${index}` }] : [])),
      );
      // Four severity levels, as the service answers by default.
      return { categories: input.categories.map((category) => ({ category, severity: Math.floor(severityOf(input.text, category) / 2) * 2 })), blocklistMatches };
    });
  }

  private async run<T>(call: "shieldPrompt" | "analyzeText", options: ContentSafetyCallOptions, texts: readonly string[], answer: () => T): Promise<T> {
    this.calls[call] += 1;
    this.timeline.push({ call, event: "start" });
    try {
      if (this.delayInMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayInMs));
      if (options.abortSignal?.aborted) throw new ContentSafetyUnavailableError("aborted");
      if (this.unavailable) throw new ContentSafetyUnavailableError("content safety unavailable (fake)", 503);
      const status = texts.map((text) => directivesIn(text).status).find((value) => value !== null);
      if (status !== undefined && status !== null && (status === 429 || status >= 500)) throw new ContentSafetyUnavailableError(`answered ${status}`, status);
      return answer();
    } finally {
      this.timeline.push({ call, event: "end" });
    }
  }
}
