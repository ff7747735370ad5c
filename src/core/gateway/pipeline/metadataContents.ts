import { pointer } from "./jsonPointer.js";

/**
 * The string values of a request's `metadata` (OpenAI's up to 16 key-value pairs), with their
 * pointers: not sent to the model, but kept by the provider with a stored completion or Response.
 */
export function metadataContents(metadata: unknown): { readonly path: string; readonly text: string }[] {
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) return [];
  const found: { path: string; text: string }[] = [];
  for (const [key, value] of Object.entries(metadata)) if (typeof value === "string" && value !== "") found.push({ path: pointer("metadata", key), text: value });
  return found;
}
