import { type TokenCredential } from "@azure/identity";
import { type Clock } from "../core/clock.js";
import { ContentSafetyScreen } from "../core/safety/ContentSafetyScreen.js";
import { ContentSafetyStage } from "../core/safety/ContentSafetyStage.js";
import { deferredContentSafety } from "./deferredAdapters.js";
import { type Settings } from "./settings.js";

export interface ContentSafetyDeps {
  readonly settings: Settings;
  readonly credential: TokenCredential;
  readonly clock: Clock;
  /** Content safety results are cached under HMACs with this key. */
  readonly cacheKey: Uint8Array;
}

/** The content safety stage: screening through Azure AI Content Safety when an endpoint is set, none otherwise. */
export function createContentSafetyStage({ settings, credential, clock, cacheKey }: ContentSafetyDeps): ContentSafetyStage {
  const safetyEndpoint = settings.CONTENT_SAFETY_ENDPOINT;
  return new ContentSafetyStage(
    safetyEndpoint
      ? new ContentSafetyScreen({
          // The Content Safety SDK loads at the first screening (only projects that ask for it screen).
          safety: deferredContentSafety(async () => {
            const { AzureContentSafety } = await import("../adapters/contentsafety/AzureContentSafety.js");
            return new AzureContentSafety({ endpoint: safetyEndpoint, ...(settings.CONTENT_SAFETY_KEY ? { key: settings.CONTENT_SAFETY_KEY } : { credential }) });
          }),
          clock,
          cacheKey,
        })
      : null,
  );
}
