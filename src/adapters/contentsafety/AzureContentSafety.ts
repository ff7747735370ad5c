import createContentSafetyClient, { type ContentSafetyClient } from "@azure-rest/ai-content-safety";
import { type TokenCredential } from "@azure/identity";
import {
  type AnalyzeTextInput,
  type AnalyzeTextResult,
  type ContentSafety,
  type ContentSafetyCallOptions,
  ContentSafetyUnavailableError,
  HARM_CATEGORIES,
  type HarmCategory,
  type ShieldPromptInput,
  type ShieldPromptResult,
} from "../../core/safety/ContentSafety.js";

/** The GA API version of Prompt Shields (the SDK's own default, 2023-10-01, predates it). */
const SHIELD_API_VERSION = "2024-09-01";
const ANALYZE_API_VERSION = "2024-09-01";

export interface AzureContentSafetyOptions {
  /** `https://<account>.cognitiveservices.azure.com` (the SDK appends `/contentsafety`). */
  readonly endpoint: string;
  /** The app's managed identity (Cognitive Services User); in Azure, local auth is off. */
  readonly credential?: TokenCredential;
  /** A subscription key: only for the local emulator. */
  readonly key?: string;
}

interface RestResponse {
  readonly status: string;
  readonly body: unknown;
}

const isCategory = (value: unknown): value is HarmCategory => (HARM_CATEGORIES as readonly unknown[]).includes(value);

/**
 * ContentSafety on the `@azure-rest/ai-content-safety` client. No SDK retries: a slow or failing service
 * is the policy's failure mode to handle (fail closed or open), within the project's time budget.
 * Every failure (network, timeout, 401/403, 429, 5xx, a malformed answer) is ContentSafetyUnavailableError.
 */
export class AzureContentSafety implements ContentSafety {
  private readonly client: ContentSafetyClient;

  constructor(options: AzureContentSafetyOptions) {
    const credential = options.key !== undefined ? { key: options.key } : options.credential;
    if (!credential) throw new Error("AzureContentSafety needs a managed identity credential (or, for the local emulator, a key)");
    this.client = createContentSafetyClient(options.endpoint.replace(/\/+$/, ""), credential, {
      apiVersion: ANALYZE_API_VERSION,
      retryOptions: { maxRetries: 0 },
      // The local emulator is plain HTTP on loopback; with a key only.
      allowInsecureConnection: options.key !== undefined,
    });
  }

  async shieldPrompt(input: ShieldPromptInput, options: ContentSafetyCallOptions): Promise<ShieldPromptResult> {
    const response = await this.call("text:shieldPrompt", () =>
      this.client.pathUnchecked("/text:shieldPrompt").post({
        body: { userPrompt: input.userPrompt, documents: [...input.documents] },
        queryParameters: { "api-version": SHIELD_API_VERSION },
        timeout: options.timeoutInMs,
        abortSignal: options.abortSignal,
      }),
    );
    const body = response.body as { userPromptAnalysis?: { attackDetected?: unknown }; documentsAnalysis?: { attackDetected?: unknown }[] } | null;
    const documents = body?.documentsAnalysis ?? [];
    if (!Array.isArray(documents) || documents.length !== input.documents.length) throw new ContentSafetyUnavailableError("text:shieldPrompt answered without one result per document");
    return { userPromptAttack: body?.userPromptAnalysis?.attackDetected === true, documentAttacks: documents.map((document) => document.attackDetected === true) };
  }

  async analyzeText(input: AnalyzeTextInput, options: ContentSafetyCallOptions): Promise<AnalyzeTextResult> {
    const response = await this.call("text:analyze", () =>
      this.client.path("/text:analyze").post({
        body: {
          text: input.text,
          categories: [...input.categories],
          ...(input.blocklistNames.length > 0 ? { blocklistNames: [...input.blocklistNames], haltOnBlocklistHit: input.haltOnBlocklistHit ?? false } : {}),
          outputType: "FourSeverityLevels",
        },
        timeout: options.timeoutInMs,
        abortSignal: options.abortSignal,
      }),
    );
    const body = response.body as { categoriesAnalysis?: { category?: unknown; severity?: unknown }[]; blocklistsMatch?: { blocklistName?: unknown; blocklistItemId?: unknown }[] } | null;
    const categories = (body?.categoriesAnalysis ?? []).flatMap((entry) => (isCategory(entry.category) ? [{ category: entry.category, severity: typeof entry.severity === "number" ? entry.severity : 0 }] : []));
    // The matched item's text is dropped here: only names and ids go further.
    const blocklistMatches = (body?.blocklistsMatch ?? []).flatMap((match) =>
      typeof match.blocklistName === "string" ? [{ blocklistName: match.blocklistName, blocklistItemId: typeof match.blocklistItemId === "string" ? match.blocklistItemId : "" }] : [],
    );
    return { categories, blocklistMatches };
  }

  private async call(operation: string, send: () => PromiseLike<RestResponse>): Promise<RestResponse> {
    let response: RestResponse;
    try {
      response = await send();
    } catch (error) {
      const name = error instanceof Error ? error.name : "unknown";
      throw new ContentSafetyUnavailableError(name === "AbortError" ? `${operation} timed out or was aborted` : `${operation} could not be reached (${name})`);
    }
    if (response.status !== "200") {
      const code = (response.body as { error?: { code?: unknown } } | null)?.error?.code;
      throw new ContentSafetyUnavailableError(`${operation} answered ${response.status}${typeof code === "string" ? ` (${code})` : ""}`, Number(response.status));
    }
    return response;
  }
}
