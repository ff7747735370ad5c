import { createRequire } from "node:module";

export type TokenEncodingName = "o200k_base" | "cl100k_base";

/** gpt-tokenizer's `countTokens` for one encoding. */
export type CountTokens = (text: string, options: { readonly allowedSpecial: Set<string>; readonly disallowedSpecial: Set<string> }) => number;

interface EncodingModule {
  readonly countTokens: CountTokens;
}

/**
 * Each encoding is a megabyte or two of ranks that take hundreds of milliseconds to load, and a
 * policy's models usually need one of the two: an encoding is loaded when first needed, not at import.
 * The app loads the ones its policy's models use while it starts (asynchronously, overlapping its
 * I/O); anything else is loaded synchronously the first time it is counted, so a count is always exact.
 */
const SPECIFIERS: Readonly<Record<TokenEncodingName, string>> = {
  o200k_base: "gpt-tokenizer/encoding/o200k_base",
  cl100k_base: "gpt-tokenizer/encoding/cl100k_base",
};

const loaded = new Map<TokenEncodingName, CountTokens>();
const loading = new Map<TokenEncodingName, Promise<void>>();
const requireModule = createRequire(import.meta.url);

/** Loads an encoding in the background of the event loop (an ES module import); resolves once it counts. */
export function loadTokenEncoding(name: TokenEncodingName): Promise<void> {
  if (loaded.has(name)) return Promise.resolve();
  let pending = loading.get(name);
  if (pending === undefined) {
    pending = (import(SPECIFIERS[name]) as Promise<EncodingModule>).then((module) => {
      if (!loaded.has(name)) loaded.set(name, module.countTokens);
    });
    loading.set(name, pending);
  }
  return pending;
}

/** The encoding's counter; loaded on the spot (synchronously) if nobody loaded it before. */
export function tokenCounterFor(name: TokenEncodingName): CountTokens {
  let count = loaded.get(name);
  if (count === undefined) {
    count = (requireModule(SPECIFIERS[name]) as EncodingModule).countTokens;
    loaded.set(name, count);
  }
  return count;
}

/** Which encodings are loaded (start-up measurements and tests). */
export function loadedTokenEncodings(): TokenEncodingName[] {
  return [...loaded.keys()];
}
