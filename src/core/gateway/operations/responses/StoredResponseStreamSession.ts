import { type CompletionUsage } from "../../../upstream/CompletionProvider.js";
import { type OutputScanner } from "../../pipeline/OutputScanner.js";
import { ResponsesStreamSession } from "./ResponsesStreamSession.js";

/** Read, never changed: what a replay bills. */
const NO_USAGE: CompletionUsage = Object.freeze({ promptTokens: 0, cachedPromptTokens: 0, completionTokens: 0 });

/**
 * A stored Response's stream replayed (`GET /responses/{id}?stream=true`): inspected exactly like a
 * created stream, but billed nothing. The usage its final event reports was the create's, and counting
 * it here would count it once per replay.
 */
export class StoredResponseStreamSession extends ResponsesStreamSession {
  constructor(scanner: OutputScanner, startingAfter: number | null) {
    super(scanner, undefined, startingAfter);
  }

  override usage(): CompletionUsage | null {
    return NO_USAGE;
  }
}
