import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { type TokenEncodingName, type TokenRankSource, type TokenRanks } from "../../core/limits/tokenEncodings.js";

/**
 * Token ranks from `<name>.json` in the first of `directories` that has it: what `npm run build` writes
 * beside the bundle (bin/bundle.mjs), from gpt-tokenizer's rank modules. JSON.parse reads the 2 MB of
 * o200k_base in about a third of the CPU V8 needs for the same array as a JavaScript module, and
 * keeps no source text alive. Null when no directory has the file (an unbundled build, tests).
 */
export class JsonTokenRankFiles implements TokenRankSource {
  constructor(private readonly directories: readonly URL[]) {}

  readSync(name: TokenEncodingName): TokenRanks | null {
    for (const directory of this.directories) {
      const text = orNullWhenMissing(() => readFileSync(new URL(`${name}.json`, directory), "utf8"));
      if (text !== null) return ranksOf(name, text);
    }
    return null;
  }

  async read(name: TokenEncodingName): Promise<TokenRanks | null> {
    for (const directory of this.directories) {
      const text = await readFile(new URL(`${name}.json`, directory), "utf8").catch((error: unknown) => {
        if (isMissing(error)) return null;
        throw error;
      });
      if (text !== null) return ranksOf(name, text);
    }
    return null;
  }
}

function isMissing(error: unknown): boolean {
  return typeof error === "object" && error !== null && "code" in error && (error.code === "ENOENT" || error.code === "ENOTDIR");
}

function orNullWhenMissing(read: () => string): string | null {
  try {
    return read();
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

function ranksOf(name: TokenEncodingName, text: string): TokenRanks {
  const ranks: unknown = JSON.parse(text);
  if (!Array.isArray(ranks) || ranks.length < 50_000) throw new Error(`token ranks ${name}.json are not a rank array`);
  return ranks as TokenRanks;
}
