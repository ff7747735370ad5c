import { type Clock } from "../clock.js";
import { type DataClass } from "../policy/schema.js";
import {
  type AnalyzeTextInput,
  type AnalyzeTextResult,
  type ContentSafety,
  type HarmCategory,
  type ShieldPromptInput,
  type ShieldPromptResult,
} from "./ContentSafety.js";
import { type ContentSafetyPolicy, type SafetyAction } from "./contentSafetyPolicy.js";
import { SafetyResultCache } from "./SafetyResultCache.js";
import { type SafetyCheckGroup, type SafetyFinding, type SafetyVerdict, NOT_SCREENED, actionOf } from "./SafetyVerdict.js";
import { MAX_ANALYZE_CHARS, MAX_SHIELD_PROMPT_CHARS, fitDocuments, headAndTail } from "./serviceLimits.js";

/** The texts of a request, by who wrote them: that decides which shield looks at them. */
export interface SafetyTexts {
  /** The user's own words (all user turns, joined). */
  readonly userPrompt: string;
  /** Third-party content: tool and function results, retrieved passages, Responses items not written by the user. */
  readonly documents: readonly string[];
}

export interface ContentSafetyScreenOptions {
  readonly safety: ContentSafety;
  readonly clock: Clock;
  /** Key for the HMAC that names cached results (never the text). */
  readonly cacheKey: Uint8Array;
  readonly cacheEntries?: number;
  readonly cacheTtlInMs?: number;
}

/** Content safety could not screen and the project fails closed for that check. */
export class ContentSafetyFailedClosed extends Error {
  override readonly name = "ContentSafetyFailedClosed";
  constructor(readonly check: SafetyCheckGroup) {
    super(`content safety (${check}) unavailable`);
  }
}

const POLICY_CATEGORY: Readonly<Record<keyof ContentSafetyPolicy["categories"], HarmCategory>> = { hate: "Hate", sexual: "Sexual", violence: "Violence", selfHarm: "SelfHarm" };

type Rules = ReadonlyMap<HarmCategory, { readonly threshold: number; readonly action: SafetyAction }>;

function rulesOf(policy: ContentSafetyPolicy): Rules {
  const rules = new Map<HarmCategory, { threshold: number; action: SafetyAction }>();
  for (const [key, category] of Object.entries(POLICY_CATEGORY) as [keyof ContentSafetyPolicy["categories"], HarmCategory][]) {
    const rule = policy.categories[key];
    if (rule) rules.set(category, rule);
  }
  return rules;
}

type Outcome<T> = { readonly ok: true; readonly value: T; readonly cached: boolean } | { readonly ok: false };

/**
 * The content-safety stage: given a request's texts by role, at most one Prompt Shields call and one
 * text-analysis call, in parallel, each skipped when the policy does not ask for it and answered from
 * the cache for texts seen lately; then one verdict. Operation-agnostic: chat, embeddings and
 * Responses each say which of their texts are the user's and which are documents.
 */
export class ContentSafetyScreen {
  private readonly cache: SafetyResultCache;

  constructor(private readonly options: ContentSafetyScreenOptions) {
    this.cache = new SafetyResultCache({ key: options.cacheKey, clock: options.clock, maxEntries: options.cacheEntries, ttlInMs: options.cacheTtlInMs });
  }

  /** Whether a project's policy screens requests of this class at all. */
  static applies(policy: ContentSafetyPolicy | undefined, dataClass: DataClass): policy is ContentSafetyPolicy {
    if (!policy || !policy.classes.includes(dataClass)) return false;
    return policy.shields.enabled || rulesOf(policy).size > 0 || policy.blocklists !== undefined;
  }

  /** Screens the input. Throws ContentSafetyFailedClosed when a check is down and its policy fails closed. */
  async screenInput(policy: ContentSafetyPolicy, texts: SafetyTexts, abortSignal?: AbortSignal): Promise<SafetyVerdict> {
    const documents = texts.documents.filter((document) => document.trim() !== "");
    const wantsShields = policy.shields.enabled && (texts.userPrompt.trim() !== "" || documents.length > 0);
    const rules = rulesOf(policy);
    const analysed = [texts.userPrompt, ...documents].filter((text) => text.trim() !== "").join("\n\n");
    const wantsAnalysis = (rules.size > 0 || policy.blocklists !== undefined) && analysed !== "";

    const prompt = headAndTail(texts.userPrompt, MAX_SHIELD_PROMPT_CHARS);
    const fitted = fitDocuments(documents);
    const text = headAndTail(analysed, MAX_ANALYZE_CHARS);
    // In parallel: the request waits for the slower of the two, not their sum.
    const [shields, analysis] = await Promise.all([
      wantsShields ? this.shield({ userPrompt: prompt.text, documents: fitted.documents }, policy, abortSignal) : null,
      wantsAnalysis ? this.analyze(this.analyzeInput(policy, rules, text.text), policy, abortSignal) : null,
    ]);

    const findings: SafetyFinding[] = [];
    const failedOpen: SafetyCheckGroup[] = [];
    const cached: SafetyCheckGroup[] = [];
    if (shields) {
      if (shields.ok) {
        if (shields.cached) cached.push("shields");
        const action = policy.shields.action;
        if (shields.value.userPromptAttack) findings.push({ check: "prompt_shield", name: "user_prompt", action });
        shields.value.documentAttacks.forEach((attack, index) => {
          if (attack) findings.push({ check: "prompt_shield", name: "document", documentIndex: fitted.origin[index]?.[0] ?? index, action });
        });
      } else this.failOrOpen("shields", policy, failedOpen);
    }
    const severities = this.readAnalysis(analysis, policy, rules, findings, failedOpen, cached);
    return { action: actionOf(findings), findings, severities, failedOpen, cached, truncated: (wantsShields && (prompt.truncated || fitted.truncated)) || (wantsAnalysis && text.truncated) };
  }

  /** Screens model output (categories and blocklists; shields look at input only). */
  async screenOutput(policy: ContentSafetyPolicy, output: string, abortSignal?: AbortSignal): Promise<SafetyVerdict> {
    const rules = rulesOf(policy);
    if (!policy.output || output.trim() === "" || (rules.size === 0 && policy.blocklists === undefined)) return NOT_SCREENED;
    const text = headAndTail(output, MAX_ANALYZE_CHARS);
    const analysis = await this.analyze(this.analyzeInput(policy, rules, text.text), policy, abortSignal);
    const findings: SafetyFinding[] = [];
    const failedOpen: SafetyCheckGroup[] = [];
    const cached: SafetyCheckGroup[] = [];
    const severities = this.readAnalysis(analysis, policy, rules, findings, failedOpen, cached);
    return { action: actionOf(findings), findings, severities, failedOpen, cached, truncated: text.truncated };
  }

  private analyzeInput(policy: ContentSafetyPolicy, rules: Rules, text: string): AnalyzeTextInput {
    return { text, categories: [...rules.keys()], blocklistNames: policy.blocklists?.names ?? [], haltOnBlocklistHit: false };
  }

  private readAnalysis(
    analysis: Outcome<AnalyzeTextResult> | null,
    policy: ContentSafetyPolicy,
    rules: Rules,
    findings: SafetyFinding[],
    failedOpen: SafetyCheckGroup[],
    cached: SafetyCheckGroup[],
  ): Partial<Record<HarmCategory, number>> {
    const severities: Partial<Record<HarmCategory, number>> = {};
    if (!analysis) return severities;
    if (!analysis.ok) {
      this.failOrOpen("categories", policy, failedOpen);
      return severities;
    }
    if (analysis.cached) cached.push("categories");
    for (const { category, severity } of analysis.value.categories) {
      severities[category] = severity;
      const rule = rules.get(category);
      if (rule && severity >= rule.threshold) findings.push({ check: "harm_category", name: category, severity, action: rule.action });
    }
    const blocklists = policy.blocklists;
    if (blocklists) {
      for (const name of new Set(analysis.value.blocklistMatches.map((match) => match.blocklistName))) findings.push({ check: "blocklist", name, action: blocklists.action });
    }
    return severities;
  }

  /** Any failure of a call counts as the service being unavailable: the policy's failure mode decides, never a 500. */
  private failOrOpen(check: SafetyCheckGroup, policy: ContentSafetyPolicy, failedOpen: SafetyCheckGroup[]): void {
    if (policy.onUnavailable[check] === "fail_closed") throw new ContentSafetyFailedClosed(check);
    failedOpen.push(check);
  }

  private shield(input: ShieldPromptInput, policy: ContentSafetyPolicy, abortSignal?: AbortSignal): Promise<Outcome<ShieldPromptResult>> {
    const key = this.cache.keyOf("shield/v1", [input.userPrompt, ...input.documents]);
    return this.cachedCall(key, () => this.options.safety.shieldPrompt(input, { timeoutInMs: policy.timeoutInMs, abortSignal }));
  }

  private analyze(input: AnalyzeTextInput, policy: ContentSafetyPolicy, abortSignal?: AbortSignal): Promise<Outcome<AnalyzeTextResult>> {
    const key = this.cache.keyOf("analyze/v1", [input.categories.join(","), input.blocklistNames.join(","), input.text]);
    return this.cachedCall(key, () => this.options.safety.analyzeText(input, { timeoutInMs: policy.timeoutInMs, abortSignal }));
  }

  private async cachedCall<T>(key: string, call: () => Promise<T>): Promise<Outcome<T>> {
    const hit = this.cache.get<T>(key);
    if (hit !== undefined) return { ok: true, value: hit, cached: true };
    try {
      const value = await call();
      this.cache.set(key, value);
      return { ok: true, value, cached: false };
    } catch {
      return { ok: false };
    }
  }
}
