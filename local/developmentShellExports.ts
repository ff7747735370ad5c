/**
 * The variables `npm start` prints for a developer to paste into a shell, in order.
 * OPENAI_BASE_URL and OPENAI_API_KEY are what the `openai` package, LangChain's ChatOpenAI and
 * OpenAIEmbeddings, and the AI SDK's `createOpenAI()` read when given no options, so an app written
 * for OpenAI runs against Palisade unchanged. PALISADE_API_KEY names the same key for scripts that
 * keep their OpenAI key elsewhere.
 */
export function developmentShellExports(options: {
  readonly hostUrl: string;
  readonly apiKey: string;
  readonly stackEnvironment: Readonly<Record<string, string>>;
  readonly policyPath: string;
}): Record<string, string> {
  return {
    OPENAI_BASE_URL: `${options.hostUrl}/v1`,
    OPENAI_API_KEY: options.apiKey,
    PALISADE_API_KEY: options.apiKey,
    ...options.stackEnvironment,
    PALISADE_POLICY: options.policyPath,
  };
}
