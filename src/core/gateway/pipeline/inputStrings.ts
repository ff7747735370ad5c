import { PalisadeError } from "../../errors.js";
import { isRecord } from "../../isRecord.js";
import { checkMediaPart, inlineFileText, remoteUrlOf } from "./inlineParts.js";
import { inlineData, textOf } from "./inlineData.js";
import { appendPointer } from "./jsonPointer.js";

/** A string of a request found by the walk below, with its pointer. */
export interface InputString {
  readonly path: string;
  readonly text: string;
  /** `identifier`: the value of a `name` (tools, schemas, functions), written back in its alphabet. */
  readonly kind: "text" | "identifier";
  /** An object's key (a schema's property name, a metadata key): read, but no redaction can be written there. */
  readonly readOnly?: true;
  /** A text file's inline data: how a redacted text is written back (base64 or a data: URL). */
  readonly encode?: (text: string) => string;
}

/** What a walk found: the strings to inspect, and how many data values it could not read. */
export interface InputWalk {
  readonly found: InputString[];
  uninspectable: number;
}

export const newWalk = (): InputWalk => ({ found: [], uninspectable: 0 });

/**
 * Keys whose string values name or number things, never text the model reads as such: not walked.
 * (`encrypted_content` is not here: on the input side the caller writes it; see checkOpaque.)
 */
const STRUCTURAL = new Set(["type", "id", "item_id", "call_id", "response_id", "approval_request_id", "status", "role", "object", "model", "$ref", "$schema", "$id", "format", "syntax", "detail"]);

/**
 * JSON Schema's and tool definitions' own keywords: as keys they are the schema's grammar, not the
 * caller's words, so they are not scanned (every other key is: a property name reaches the model).
 */
const KEYWORDS = new Set([
  "function", "custom", "description", "title", "parameters", "strict", "properties", "items", "required", "enum", "const", "default", "examples",
  "pattern", "additionalProperties", "anyOf", "oneOf", "allOf", "not", "$defs", "definitions", "minimum", "maximum", "minLength", "maxLength",
  "minItems", "maxItems", "nullable", "schema", "json_schema", "grammar", "definition", "input_schema", "encrypted_content",
]);

/**
 * Letters, spaces, `_` and `-` only, and short: no detector finds anything there (every value DLP
 * reports has a digit, an `@`, a `:` or a symbol, or is a token longer than this), so the many
 * `"string"`, `"object"`, `"celsius"` of a tool list are not scanned one by one.
 */
const PLAIN_WORD = /^[A-Za-z][A-Za-z _-]{0,23}$/;

/** Bounds the walk: the body is caller input, and a hostile nesting must not exhaust the stack. */
const MAX_DEPTH = 64;

/**
 * Every string of `value` a model (or the provider's storage) could read, at any depth, with its
 * pointer: values (an enum, a default, a grammar, a field of an item type Palisade has no rule for)
 * and object keys (a property name), save structural values, schema keywords and plain words. For
 * what Palisade passes upstream without a rule of its own: tool definitions and schemas, tool
 * choices, metadata, unknown fields and item types. Data values (an `image_url`, a `file_data`,
 * audio `data`) are judged as data (inlineParts.ts): text in an image is refused (400), a text file
 * is read, anything else counts as uninspectable. Deeper than MAX_DEPTH: refused (400), not passed unread.
 */
export function inputStrings(value: unknown, at: string, walk: InputWalk = newWalk()): InputWalk {
  visit(value, at, null, walk, 0);
  return walk;
}

/** `inputStrings` for the fields of `record` that `keep` picks (a call item's arguments and its results have different authors). */
export function inputFieldStrings(record: Readonly<Record<string, unknown>>, at: string, keep: (key: string) => boolean, walk: InputWalk = newWalk()): InputWalk {
  visitFields(record, at, walk, 0, keep);
  return walk;
}

function visit(value: unknown, path: string, key: string | null, walk: InputWalk, depth: number): void {
  if (typeof value === "string") {
    if (value === "" || PLAIN_WORD.test(value) || (key !== null && STRUCTURAL.has(key))) return;
    walk.found.push({ path, text: value, kind: key === "name" ? "identifier" : "text" });
    return;
  }
  if (depth > MAX_DEPTH) throw new PalisadeError(400, "invalid_request_error", "invalid_request", `A field of the request is nested more than ${MAX_DEPTH} levels deep; Palisade does not pass on what it cannot inspect.`);
  if (Array.isArray(value)) {
    value.forEach((item: unknown, index) => visit(item, appendPointer(path, index), null, walk, depth + 1));
    return;
  }
  if (isRecord(value)) visitFields(value, path, walk, depth, null);
}

function visitFields(value: Readonly<Record<string, unknown>>, path: string, walk: InputWalk, depth: number, keep: ((key: string) => boolean) | null): void {
  for (const [childKey, child] of Object.entries(value)) {
    if (keep !== null && !keep(childKey)) continue;
    const childPath = appendPointer(path, childKey);
    if (childKey !== "" && !KEYWORDS.has(childKey) && !STRUCTURAL.has(childKey) && !PLAIN_WORD.test(childKey)) walk.found.push({ path: childPath, text: childKey, kind: "text", readOnly: true });
    if (!mediaValue(childKey, child, childPath, walk)) visit(child, childPath, childKey, walk, depth + 1);
  }
}

/** `/input/1/output/image_url` as `input[1].output.image_url`, the form OpenAI's `param` takes. */
export const paramOf = (path: string): string => path.slice(1).replace(/\/(\d+)(?=\/|$)/g, "[$1]").replace(/\//g, ".").replace(/~1/g, "/").replace(/~0/g, "~");

/** Judges a data value (true: it was one, and is dealt with); false lets the walk read it as text. */
function mediaValue(key: string, value: unknown, path: string, walk: InputWalk): boolean {
  switch (key) {
    case "image_url": {
      // Chat's `{ url, detail }` or the Responses API's string.
      const url = isRecord(value) && typeof value.url === "string" ? value.url : value;
      if (typeof url !== "string") return false;
      checkMediaPart("image", url, paramOf(path));
      walk.uninspectable += 1;
      if (remoteUrlOf(url) !== null) walk.found.push({ path: url === value ? path : appendPointer(path, "url"), text: url, kind: "text" });
      return true;
    }
    case "file_data": {
      const inline = inlineFileText(value);
      if (inline !== null) {
        if (inline.text !== "") walk.found.push({ path, text: inline.text, kind: "text", encode: inline.encode });
      } else if (typeof value === "string") walk.uninspectable += 1;
      return typeof value === "string";
    }
    case "data":
      // Audio is bare base64; a `data` that is not base64 is text, read as such.
      if (typeof value !== "string" || inlineData(value, { bareBase64: true }) === null) return false;
      checkMediaPart("audio", value, paramOf(path));
      walk.uninspectable += 1;
      return true;
    case "encrypted_content":
      // Checked, then read as text too: ciphertext gives no findings, a value disguised as it does.
      if (typeof value === "string") checkOpaque(value, paramOf(path));
      return false;
    case "file_url":
    case "video_url":
      if (typeof value !== "string") return false;
      walk.uninspectable += 1;
      if (remoteUrlOf(value) !== null) walk.found.push({ path, text: value, kind: "text" });
      return true;
    case "file_id":
      if (typeof value !== "string") return false;
      walk.uninspectable += 1;
      return true;
    default:
      return false;
  }
}

/** Base64 or base64url, nothing else (no spaces, no data: URL). */
const OPAQUE = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * `encrypted_content` (a reasoning or compaction item's, sent back as history) is the provider's ciphertext: base64
 * of bytes that are not text. Anything else there is the caller's own text, which the provider would
 * receive unread by DLP and cannot decrypt anyway: refused (400).
 */
function checkOpaque(value: string, param: string): void {
  if (OPAQUE.test(value) && textOf(Buffer.from(value, "base64")) === null) return;
  throw new PalisadeError(400, "invalid_request_error", "invalid_request", `'${param}' is not encrypted content as the API returned it. Send reasoning and compaction items back unchanged, or leave them out.`, { param });
}
