import fc from "fast-check";
import { countTokens as countCl100k } from "gpt-tokenizer/encoding/cl100k_base";
import { countTokens as countO200k } from "gpt-tokenizer/encoding/o200k_base";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { JsonTokenRankFiles } from "../../../src/adapters/tokenizer/JsonTokenRankFiles.js";

const PLAIN = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };
let directory = "";
let ranksDirectory: URL;
let missingDirectory: URL;

/** A fresh instance of the counting modules (no encoding loaded), as a cold process has. */
async function coldCounting() {
  vi.resetModules();
  const [counting, encodings] = await Promise.all([import("../../../src/core/limits/estimatePromptTokens.js"), import("../../../src/core/limits/tokenEncodings.js")]);
  return { ...counting, ...encodings };
}

beforeAll(async () => {
  // What bin/bundle.mjs writes to dist/bundle/ranks/.
  directory = await mkdtemp(join(tmpdir(), "palisade-ranks-"));
  await mkdir(join(directory, "ranks"));
  for (const name of ["o200k_base", "cl100k_base"]) {
    const ranks = ((await import(`gpt-tokenizer/bpeRanks/${name}`)) as { default: unknown[] }).default;
    await writeFile(join(directory, "ranks", `${name}.json`), JSON.stringify(ranks));
  }
  ranksDirectory = pathToFileURL(join(directory, "ranks") + "/");
  missingDirectory = pathToFileURL(join(directory, "missing") + "/");
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("JsonTokenRankFiles", () => {
  it("reads ranks from the first directory that has them, and null where none has", async () => {
    const files = new JsonTokenRankFiles([missingDirectory, ranksDirectory]);
    expect(files.readSync("o200k_base")?.length).toBe(199_998);
    expect((await files.read("cl100k_base"))?.length).toBe(100_256);
    const nowhere = new JsonTokenRankFiles([missingDirectory]);
    expect(nowhere.readSync("o200k_base")).toBeNull();
    expect(await nowhere.read("o200k_base")).toBeNull();
  });

  it("refuses a file that is not a rank array instead of counting with it", async () => {
    await writeFile(join(directory, "o200k_base.json"), JSON.stringify({ not: "ranks" }));
    expect(() => new JsonTokenRankFiles([pathToFileURL(directory + "/")]).readSync("o200k_base")).toThrow(/not a rank array/);
  });

  it("gives counts equal to gpt-tokenizer's own, loaded in the background or on the spot", async () => {
    const cold = await coldCounting();
    cold.useTokenRankSource(new JsonTokenRankFiles([missingDirectory, ranksDirectory]));
    await cold.loadTokenEncodingsFor(["gpt-4o"]);
    cold.countTextTokens("gpt-4", "loaded on the spot");
    expect(cold.tokenEncodingSources()).toEqual({ o200k_base: "rank-source", cl100k_base: "rank-source" });
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: "grapheme", maxLength: 150 }), fc.string({ unit: "binary", maxLength: 150 })), (text) => {
        expect(cold.countedExactly(() => cold.countTextTokens("gpt-4o", text))).toBe(text.length === 0 ? 0 : countO200k(text, PLAIN));
        expect(cold.countedExactly(() => cold.countTextTokens("gpt-4", text))).toBe(text.length === 0 ? 0 : countCl100k(text, PLAIN));
      }),
      { numRuns: 300 },
    );
  });

  it("leaves gpt-tokenizer's modules to count when no directory has the ranks", async () => {
    const cold = await coldCounting();
    cold.useTokenRankSource(new JsonTokenRankFiles([missingDirectory]));
    await cold.loadTokenEncodingsFor(["gpt-4o"]);
    expect(cold.tokenEncodingSources()).toEqual({ o200k_base: "module" });
    expect(cold.countTextTokens("gpt-4o", "counted all the same")).toBe(countO200k("counted all the same", PLAIN));
  });
});
