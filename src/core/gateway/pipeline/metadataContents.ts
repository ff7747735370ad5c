import { pointer } from "./jsonPointer.js";
import { type ContentField } from "./Operation.js";

/**
 * The keys and string values of a request's `metadata` (OpenAI's up to 16 key-value pairs), with their
 * pointers: not sent to the model, but kept by the provider with a stored completion or Response. A
 * key cannot be redacted in place (`readOnly`).
 */
export function metadataContents(metadata: unknown): ContentField[] {
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) return [];
  const found: ContentField[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    const path = pointer("metadata", key);
    if (key !== "") found.push({ path, text: key, kind: "text", readOnly: true });
    if (typeof value === "string" && value !== "") found.push({ path, text: value, kind: "text" });
  }
  return found;
}
