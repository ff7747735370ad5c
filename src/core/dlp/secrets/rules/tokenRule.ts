import { type SecretRule } from "../SecretRule.js";

interface TokenRuleSpec {
  readonly id: string;
  readonly description: string;
  readonly alsoCovers?: readonly string[];
  readonly keywords: readonly string[];
  readonly pattern: RegExp;
  /** A made-up secret of the format (see sampleToken). */
  readonly sample: string;
  readonly keywordOffset?: number | "token";
  readonly minEntropy?: number;
  readonly allowlist?: readonly RegExp[];
  readonly validate?: SecretRule["validate"];
  /** More samples beyond the two built from `sample`. */
  readonly found?: SecretRule["samples"]["found"];
  readonly ignored?: readonly string[];
}

/**
 * A rule for a token that carries its vendor's prefix (`ghp_`, `sk_live_`, `glpat-`): found wherever it
 * stands, no label needed. Its samples: the token in an env line and in JSON, and as a placeholder.
 */
export function tokenRule(spec: TokenRuleSpec): SecretRule {
  const keyword = spec.keywords[0] ?? "";
  const offset = typeof spec.keywordOffset === "number" ? spec.keywordOffset : 0;
  const placeholder = spec.sample.slice(0, offset + keyword.length) + "x".repeat(Math.max(8, spec.sample.length - keyword.length));
  return {
    id: spec.id,
    description: spec.description,
    ...(spec.alsoCovers !== undefined ? { alsoCovers: spec.alsoCovers } : {}),
    keywords: spec.keywords,
    keywordOffset: spec.keywordOffset ?? 0,
    pattern: spec.pattern,
    ...(spec.minEntropy !== undefined ? { minEntropy: spec.minEntropy } : {}),
    ...(spec.allowlist !== undefined ? { allowlist: spec.allowlist } : {}),
    ...(spec.validate !== undefined ? { validate: spec.validate } : {}),
    samples: {
      found: [
        { text: `export TOKEN=${spec.sample}`, secret: spec.sample },
        { text: `{"credential": "${spec.sample}", "note": "from the wiki"}`, secret: spec.sample },
        ...(spec.found ?? []),
      ],
      ignored: [`TOKEN=${placeholder}`, ...(spec.ignored ?? [])],
    },
  };
}
