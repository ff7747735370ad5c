/**
 * The headers of a request the local host read whole, as a fetch `Headers` behaves for them (names
 * lowercase, iterated in name order, one value per name) without fetch's `Headers`: the first touch of
 * that global loads Node's bundled undici (~50 ms of CPU and http2, worker_threads... with it), which a
 * cold instance's first answer does not otherwise need. Node's HTTP parser has already checked the
 * names and values and joined repeated ones; what a function sets later is checked as fetch would.
 */
export class RequestHeaders implements Headers {
  readonly #values = new Map<string, string>();

  constructor(init: Readonly<Record<string, string>> = {}) {
    for (const name of Object.keys(init)) this.append(name, init[name] ?? "");
  }

  append(name: string, value: string): void {
    const key = checkedName(name);
    const normalised = checkedValue(value);
    const existing = this.#values.get(key);
    this.#values.set(key, existing === undefined ? normalised : `${existing}, ${normalised}`);
  }

  delete(name: string): void {
    this.#values.delete(checkedName(name));
  }

  get(name: string): string | null {
    return this.#values.get(checkedName(name)) ?? null;
  }

  getSetCookie(): string[] {
    // An incoming request carries cookies in `cookie`; fetch answers [] here for a request's headers too.
    return [];
  }

  has(name: string): boolean {
    return this.#values.has(checkedName(name));
  }

  set(name: string, value: string): void {
    this.#values.set(checkedName(name), checkedValue(value));
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }

  *entries(): IterableIterator<[string, string]> {
    const names = [...this.#values.keys()].sort();
    for (const name of names) {
      const value = this.#values.get(name);
      if (value !== undefined) yield [name, value];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return "Headers";
  }
}

/** An RFC 9110 token, as fetch requires of a header name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function checkedName(name: string): string {
  if (!TOKEN.test(name)) throw new TypeError(`Headers: invalid header name "${name}"`);
  return name.toLowerCase();
}

/** Leading and trailing whitespace dropped; a NUL, CR or LF refused, as fetch does. */
function checkedValue(value: string): string {
  const text = String(value);
  // Nearly every value has nothing to trim (Node's parser trimmed it): no regex replace for those.
  const normalised = text.length > 0 && !isHttpWhitespace(text.charCodeAt(0)) && !isHttpWhitespace(text.charCodeAt(text.length - 1)) ? text : text.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
  if (/[\0\r\n]/.test(normalised)) throw new TypeError("Headers: invalid header value");
  return normalised;
}

/** Tab, LF, CR or space: what fetch trims from a header value's ends. */
function isHttpWhitespace(code: number): boolean {
  return code === 0x09 || code === 0x0a || code === 0x0d || code === 0x20;
}
