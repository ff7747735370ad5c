import { describe, expect, it } from "vitest";
import { toOpenAiErrorBody } from "../../../src/core/errors.js";
import { contentFiltered, upstreamContentFiltered } from "../../../src/core/safety/safetyErrors.js";
import { type SafetyVerdict } from "../../../src/core/safety/SafetyVerdict.js";

const verdict = (partial: Partial<SafetyVerdict>): SafetyVerdict => ({ action: "block", findings: [], severities: {}, failedOpen: [], cached: [], truncated: false, ...partial });

describe("content-filter refusals", () => {
  it("name a prompt attack in Azure OpenAI's error shape, audited as prompt_attack_detected", () => {
    const error = contentFiltered(verdict({ findings: [{ check: "prompt_shield", name: "document", documentIndex: 0, action: "block" }] }), "prompt");
    expect(error.status).toBe(400);
    expect(error.auditType).toBe("prompt_attack_detected");
    const body = toOpenAiErrorBody(error);
    expect(body.error).toMatchObject({ code: "content_filter", param: "prompt", innererror: { code: "ResponsibleAIPolicyViolation", source: "palisade", content_filter_result: { indirect_attack: { filtered: true, detected: true } } } });
    expect(body.error.message).toContain("prompt attack in a document");
    expect(error.auditDetails).toMatchObject({ safetySource: "palisade", promptAttack: "document", documentAttacks: 1 });
  });

  it("name a harm category and severity, audited as content_filtered", () => {
    const error = contentFiltered(verdict({ findings: [{ check: "harm_category", name: "Violence", severity: 6, action: "block" }], severities: { Violence: 6, Hate: 0 } }), "completion");
    expect(error.auditType).toBe("content_filtered");
    expect(error.message).toContain("Violence (severity 6)");
    expect(toOpenAiErrorBody(error).error.innererror).toMatchObject({ content_filter_result: { violence: { filtered: true, severity: "high" }, hate: { filtered: false, severity: "safe" } } });
    expect(error.auditDetails).toMatchObject({ safetyCategories: "Violence", "severity.Violence": 6, safetyPlace: "completion" });
  });

  it("map Azure OpenAI's own refusal with the source named upstream, keeping only verdict fields", () => {
    const error = upstreamContentFiltered({ hate: { filtered: false, severity: "safe" }, jailbreak: { filtered: true, detected: true, note: "leak me" }, "bad key!": { filtered: true } });
    expect(error.auditType).toBe("prompt_attack_detected");
    expect(error.source).toBe("upstream");
    expect(error.message).toContain("jailbreak");
    const inner = toOpenAiErrorBody(error).error.innererror as { content_filter_result: Record<string, unknown> };
    expect(inner.content_filter_result).toEqual({ hate: { filtered: false, severity: "safe" }, jailbreak: { filtered: true, detected: true } });
    expect(error.auditDetails).toMatchObject({ safetySource: "upstream", upstreamFiltered: "jailbreak", promptAttack: "jailbreak" });
  });
});
