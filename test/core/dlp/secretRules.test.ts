import { describe, expect, it } from "vitest";
import { scan } from "../../../src/core/dlp/index.js";
import { coveredGitleaksRuleIds } from "../../../src/core/dlp/secrets/gitleaksCoverage.js";
import { SecretRuleScanner } from "../../../src/core/dlp/secrets/SecretRuleScanner.js";
import { SECRET_RULES } from "../../../src/core/dlp/secrets/secretRules.js";
import { VENDOR_NAMES } from "../../../src/core/dlp/secrets/vendorNames.js";
import { type Candidate } from "../../../src/core/dlp/types.js";
import { GITLEAKS_RULE_IDS } from "./gitleaksRuleIds.js";

function ruleFinds(ruleIndex: number, text: string): string[] {
  const rule = SECRET_RULES[ruleIndex];
  if (rule === undefined) throw new Error("no rule");
  const out: Candidate[] = [];
  new SecretRuleScanner([rule]).scan(text, out);
  return out.map((c) => text.slice(c.start, c.end));
}

describe("secret rules: every rule passes its own samples", () => {
  it("rule ids are unique and every rule has samples of both kinds", () => {
    const ids = SECRET_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const rule of SECRET_RULES) {
      expect(rule.samples.found.length, rule.id).toBeGreaterThan(0);
      expect(rule.samples.ignored.length, rule.id).toBeGreaterThan(0);
    }
  });

  describe.each(SECRET_RULES.map((rule, index) => [rule.id, index] as const))("%s", (_id, index) => {
    const rule = SECRET_RULES[index];
    if (rule === undefined) return;
    it.each(rule.samples.found.map((s) => [s.text.slice(0, 60), s] as const))("finds the secret in %j", (_text, sample) => {
      // The rule alone finds it (so the sample tests this rule, not another detector)...
      expect(ruleFinds(index, sample.text).some((value) => value.includes(sample.secret))).toBe(true);
      // ...and the whole scan reports a finding covering it.
      const covering = scan(sample.text).filter((f) => f.type === (rule.type ?? "API_KEY") && sample.text.slice(f.start, f.end).includes(sample.secret));
      expect(covering.length).toBe(1);
    });
    it.each(rule.samples.ignored.map((t) => [t.slice(0, 60), t] as const))("ignores %j", (_text, text) => {
      expect(ruleFinds(index, text)).toEqual([]);
    });
  });
});

describe("secret rules: shapes", () => {
  it("finds a token wrapped over a line break by a terminal, whole", () => {
    const token = "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6";
    const text = `$ echo $GH_TOKEN\n${token.slice(0, 22)}\n${token.slice(22)}\n$ `;
    const [finding] = scan(text);
    expect(finding?.type).toBe("API_KEY");
    expect(text.slice(finding?.start ?? 0, finding?.end ?? 0).replace(/\n/g, "")).toBe(token);
  });
  it("reports a session token of any length whole, not cut at 200 characters", () => {
    const token = `IQoJb3JpZ2luX2VjE${"Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z".repeat(30)}`;
    const text = `aws_session_token = ${token}\nregion = eu-west-1`;
    const findings = scan(text);
    expect(findings).toHaveLength(1);
    expect(text.slice(findings[0]?.start ?? 0, findings[0]?.end ?? 0)).toBe(token);
  });
  it("allowlists the placeholders secret scanners allowlist", () => {
    for (const text of [
      "AKIAXXXXXXXXXXXXXXXX",
      "export GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
      "SLACK_BOT_TOKEN=xoxb-xxxxxxxxxxxx-xxxxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx",
      "api_key: REPLACE_ME",
      'OPENAI_API_KEY="<your-key>"',
      "password = changeme",
      "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    ]) {
      expect(scan(text), text).toEqual([]);
    }
  });
  it("each gitleaks vendor-name entry names gitleaks rule ids and a value shape", () => {
    for (const vendor of VENDOR_NAMES) {
      expect(vendor.ids.length).toBeGreaterThan(0);
      expect(vendor.word).toBe(vendor.word.toLowerCase());
    }
  });
});

describe("coverage of gitleaks' default rule set", () => {
  const covered = coveredGitleaksRuleIds();
  it("lists 218 gitleaks rules, once each", () => {
    expect(GITLEAKS_RULE_IDS).toHaveLength(218);
    expect(new Set(GITLEAKS_RULE_IDS).size).toBe(218);
  });
  it("covers every gitleaks rule except the four docs/dlp.md names (file paths, base64-wrapped JWTs, Kubernetes YAML, NuGet config)", () => {
    const missing = GITLEAKS_RULE_IDS.filter((id) => !covered.has(id));
    expect(missing.sort()).toEqual(["jwt-base64", "kubernetes-secret-yaml", "nuget-config-password", "pkcs12-file"]);
  });
});
