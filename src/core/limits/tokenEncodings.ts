import { createRequire } from "node:module";

export type TokenEncodingName = "o200k_base" | "cl100k_base";

/** gpt-tokenizer's `countTokens` for one encoding. */
export type CountTokens = (text: string, options: { readonly allowedSpecial: Set<string>; readonly disallowedSpecial: Set<string> }) => number;

interface EncodingModule {
  readonly countTokens: CountTokens;
}

/** An encoding's ranks as gpt-tokenizer's bpeRanks modules hold them: a string, or bytes that are not UTF-8. */
export type TokenRanks = readonly (string | readonly number[])[];

/**
 * Where an encoding's ranks can be read faster than by importing gpt-tokenizer's rank module (a
 * 2.2 MB JavaScript array literal for o200k_base): JSON files written at build time. Null: not there.
 */
export interface TokenRankSource {
  readSync(name: TokenEncodingName): TokenRanks | null;
  read(name: TokenEncodingName): Promise<TokenRanks | null>;
}

interface GptEncodingModule {
  readonly GptEncoding: { getEncodingApi(name: TokenEncodingName, ranks: () => TokenRanks): { countTokens: CountTokens } };
}

/**
 * Each encoding is a megabyte or two of ranks that take hundreds of milliseconds of CPU to load, and
 * a policy's models usually need one of the two: an encoding is loaded when first needed, not at
 * import. The app marks the ones its policy's models use as loading in the background
 * (`countWithUpperBoundUntilLoaded`): until they are loaded, counts for them are an upper bound (see
 * countTextTokens), so a cold instance's first answers do not wait for the ranks. Any other encoding
 * is loaded synchronously the first time it is counted, so its count is always exact.
 */
const SPECIFIERS: Readonly<Record<TokenEncodingName, string>> = {
  o200k_base: "gpt-tokenizer/encoding/o200k_base",
  cl100k_base: "gpt-tokenizer/encoding/cl100k_base",
};

const loaded = new Map<TokenEncodingName, CountTokens>();
const loading = new Map<TokenEncodingName, Promise<void>>();
const boundedUntilLoaded = new Set<TokenEncodingName>();
const requireModule = createRequire(import.meta.url);
/** How many counts used the upper bound so far (only ever grows; see `countedTokens`). */
let upperBoundCounts = 0;
/** Above 0 while `countedExactly` runs: every count is exact, loading its encoding if need be. */
let exactOnly = 0;

let rankSource: TokenRankSource | null = null;
const sources = new Map<TokenEncodingName, "rank-source" | "module">();

/** Reads ranks from `source` when it has them (the app passes the build's JSON files), else from gpt-tokenizer's modules. */
export function useTokenRankSource(source: TokenRankSource | null): void {
  rankSource = source;
}

/** The same counter gpt-tokenizer's encoding module makes (`GptEncoding.getEncodingApi(name, () => ranks)`). */
function counterFromRanks(name: TokenEncodingName, ranks: TokenRanks): CountTokens {
  const { GptEncoding } = requireModule("gpt-tokenizer/GptEncoding") as GptEncodingModule;
  const encoding = GptEncoding.getEncodingApi(name, () => ranks);
  return (text, options) => encoding.countTokens(text, options);
}

function settle(name: TokenEncodingName, count: CountTokens, source: "rank-source" | "module"): CountTokens {
  const known = loaded.get(name);
  if (known !== undefined) return known;
  loaded.set(name, count);
  sources.set(name, source);
  boundedUntilLoaded.delete(name);
  return count;
}

/**
 * Loads an encoding in the background of the event loop; resolves once it counts. From a rank
 * source: the file is read asynchronously, then parsed and the counter built (two shorter stretches
 * of the loop, ~0.15 s each for o200k_base, instead of one of ~0.45 s); else an ES module import.
 */
export function loadTokenEncoding(name: TokenEncodingName): Promise<void> {
  if (loaded.has(name)) return Promise.resolve();
  let pending = loading.get(name);
  if (pending === undefined) {
    const source = rankSource;
    pending = (async () => {
      const ranks = source === null ? null : await source.read(name);
      if (ranks !== null) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        settle(name, counterFromRanks(name, ranks), "rank-source");
        return;
      }
      settle(name, ((await import(SPECIFIERS[name])) as EncodingModule).countTokens, "module");
    })();
    loading.set(name, pending);
  }
  return pending;
}

/**
 * Until these encodings are loaded (by `loadTokenEncoding`, which the caller starts when it sees
 * fit), counts for them are an upper bound instead of loading them on the spot.
 */
export function countWithUpperBoundUntilLoaded(names: Iterable<TokenEncodingName>): void {
  for (const name of names) if (!loaded.has(name)) boundedUntilLoaded.add(name);
}

/** The encoding's counter; loaded on the spot (synchronously) if nobody loaded it before. */
export function tokenCounterFor(name: TokenEncodingName): CountTokens {
  const count = loaded.get(name);
  if (count !== undefined) return count;
  const ranks = rankSource?.readSync(name) ?? null;
  if (ranks !== null) return settle(name, counterFromRanks(name, ranks), "rank-source");
  return settle(name, (requireModule(SPECIFIERS[name]) as EncodingModule).countTokens, "module");
}

/** The encoding's counter, or null while a count may use the upper bound instead (it is loading). */
export function exactTokenCounterFor(name: TokenEncodingName): CountTokens | null {
  if (exactOnly === 0 && boundedUntilLoaded.has(name) && !loaded.has(name)) {
    upperBoundCounts += 1;
    return null;
  }
  return tokenCounterFor(name);
}

/** Runs a count and says whether it is exact, or an upper bound because an encoding was still loading. */
export function countedTokens(count: () => number): { readonly tokens: number; readonly upperBound: boolean } {
  const before = upperBoundCounts;
  const tokens = count();
  return { tokens, upperBound: upperBoundCounts !== before };
}

/** Runs a count exactly, loading (synchronously) any encoding it needs that is not loaded yet. */
export function countedExactly(count: () => number): number {
  exactOnly += 1;
  try {
    return count();
  } finally {
    exactOnly -= 1;
  }
}

/** Which encodings are loaded (start-up measurements and tests). */
export function loadedTokenEncodings(): TokenEncodingName[] {
  return [...loaded.keys()];
}

/** Where each loaded encoding's ranks came from (tests). */
export function tokenEncodingSources(): Partial<Record<TokenEncodingName, "rank-source" | "module">> {
  return Object.fromEntries(sources);
}
