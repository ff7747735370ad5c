/** RFC 6901 JSON Pointers: how operations name the place of a content field and write redactions back. */

const NEEDS_ESCAPE = /[~/]/;
// Field names and indexes almost never hold `~` or `/`: one test, and no new string, for those.
const escape = (segment: string | number): string =>
  typeof segment === "number" ? String(segment) : NEEDS_ESCAPE.test(segment) ? segment.replace(/~/g, "~0").replace(/\//g, "~1") : segment;
const unescape = (segment: string): string => segment.replace(/~1/g, "/").replace(/~0/g, "~");

export function pointer(...segments: readonly (string | number)[]): string {
  let path = "";
  for (const segment of segments) path += `/${escape(segment)}`;
  return path;
}

export function appendPointer(base: string, ...segments: readonly (string | number)[]): string {
  return base + pointer(...segments);
}

/**
 * A copy of `root` with the strings at `replacements` (pointer -> text) replaced. Only the objects
 * and arrays on a replaced path are copied; everything else is shared. A pointer that does not lead
 * to a string is ignored (the field was named by the same code that reads it).
 */
export function replaceAtPointers<T>(root: T, replacements: ReadonlyMap<string, string>): T {
  let result: unknown = root;
  for (const [at, text] of replacements) result = replaceAt(result, at.split("/").slice(1).map(unescape), text);
  return result as T;
}

function replaceAt(node: unknown, path: readonly string[], text: string): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return typeof node === "string" ? text : node;
  if (Array.isArray(node)) {
    const index = Number(head);
    if (!Number.isInteger(index) || index < 0 || index >= node.length) return node;
    const copy = [...(node as unknown[])];
    copy[index] = replaceAt(copy[index], rest, text);
    return copy;
  }
  if (typeof node === "object" && node !== null && Object.hasOwn(node, head)) {
    const record = node as Record<string, unknown>;
    return { ...record, [head]: replaceAt(record[head], rest, text) };
  }
  return node;
}
