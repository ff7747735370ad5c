import { type SecretRule } from "../SecretRule.js";
import { sampleToken } from "./sampleToken.js";
import { tokenRule } from "./tokenRule.js";

const openAiProject = `sk-proj-${sampleToken(1, "url", 74)}T3BlbkFJ${sampleToken(2, "url", 74)}`;
const anthropic = `sk-ant-api03-${sampleToken(3, "url", 93)}AA`;

export const aiRules: readonly SecretRule[] = [
  tokenRule({
    id: "openai-api-key",
    description: "OpenAI API key: legacy sk-, project sk-proj-, service account sk-svcacct-, admin sk-admin-",
    keywords: ["sk-"],
    // Broader than gitleaks' (which needs the T3BlbkFJ marker): keys are also pasted truncated or in the newer unmarked form.
    pattern: /(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_-]{20,}/y,
    validate: (secret) => {
      const body = secret.slice(3);
      return /\d/.test(body) && /[a-z]/.test(body) && /[A-Z]/.test(body) && !body.startsWith("ant-");
    },
    sample: openAiProject,
    found: [{ text: `OPENAI_API_KEY=sk-${sampleToken(4, "alnum", 20)}T3BlbkFJ${sampleToken(5, "alnum", 20)}`, secret: `sk-${sampleToken(4, "alnum", 20)}T3BlbkFJ${sampleToken(5, "alnum", 20)}` }],
    ignored: ["the sk-learn package", "pip install sk-video-tools-for-everyone"],
  }),
  tokenRule({
    id: "anthropic-api-key",
    alsoCovers: ["anthropic-admin-api-key"],
    description: "Anthropic API key (sk-ant-api03-) and admin key (sk-ant-admin01-)",
    keywords: ["sk-ant-"],
    pattern: /(?<![A-Za-z0-9_-])sk-ant-(?:api|admin|oat|sid)\d\d-[A-Za-z0-9_-]{32,}/y,
    sample: anthropic,
    found: [{ text: `ANTHROPIC_API_KEY="sk-ant-admin01-${sampleToken(6, "url", 93)}AA"`, secret: `sk-ant-admin01-${sampleToken(6, "url", 93)}AA` }],
  }),
  tokenRule({
    id: "huggingface-access-token",
    description: "Hugging Face user access token",
    keywords: ["hf_"],
    pattern: /(?<![A-Za-z0-9_])hf_[A-Za-z]{34}(?![A-Za-z0-9_])/y,
    minEntropy: 3,
    sample: `hf_${sampleToken(7, "letters", 34)}`,
  }),
  tokenRule({
    id: "huggingface-organization-api-token",
    description: "Hugging Face organization API token",
    keywords: ["api_org_"],
    pattern: /(?<![A-Za-z0-9_])api_org_[A-Za-z]{34}(?![A-Za-z0-9_])/y,
    minEntropy: 3,
    sample: `api_org_${sampleToken(8, "letters", 34)}`,
  }),
  tokenRule({
    id: "perplexity-api-key",
    description: "Perplexity API key",
    keywords: ["pplx-"],
    pattern: /(?<![A-Za-z0-9_-])pplx-[A-Za-z0-9]{48}(?![A-Za-z0-9])/y,
    minEntropy: 4,
    sample: `pplx-${sampleToken(9, "alnum", 48)}`,
  }),
  tokenRule({
    id: "groq-api-key",
    description: "Groq API key (not in gitleaks' default set)",
    keywords: ["gsk_"],
    pattern: /(?<![A-Za-z0-9_])gsk_[A-Za-z0-9]{52}(?![A-Za-z0-9])/y,
    minEntropy: 4,
    sample: `gsk_${sampleToken(10, "alnum", 52)}`,
  }),
  tokenRule({
    id: "xai-api-key",
    description: "xAI API key (not in gitleaks' default set)",
    keywords: ["xai-"],
    pattern: /(?<![A-Za-z0-9_-])xai-[A-Za-z0-9]{80}(?![A-Za-z0-9])/y,
    minEntropy: 4,
    sample: `xai-${sampleToken(11, "alnum", 80)}`,
  }),
  tokenRule({
    id: "replicate-api-token",
    description: "Replicate API token (r8_; not in gitleaks' default set)",
    keywords: ["r8_"],
    pattern: /(?<![A-Za-z0-9_])r8_[A-Za-z0-9]{37}(?![A-Za-z0-9])/y,
    minEntropy: 4,
    sample: `r8_${sampleToken(12, "alnum", 37)}`,
  }),
];
