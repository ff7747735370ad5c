import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { consistencyProof, inclusionProof, leafHash, merkleRoot, verifyConsistency, verifyInclusion } from "../../../src/core/audit/merkle.js";

/**
 * Issue 18 item 12: the public RFC 6962 vectors of transparency-dev/merkle, read where they are
 * (`../shared/vectors` beside the repository, present in CI; see its SOURCES.md), never copied here.
 * Every probe file of testdata/inclusion and testdata/consistency (happy paths and tampered proofs, each
 * with the verdict the reference verifier gives) and the known answers of known-answers.json.
 */

const VECTORS = join(import.meta.dirname, "..", "..", "..", "..", "shared", "vectors", "merkle");
const TESTDATA = join(VECTORS, "transparency-dev", "testdata");

interface InclusionProbe {
  readonly leafIdx: number;
  readonly treeSize: number;
  readonly root: string | null;
  readonly leafHash: string | null;
  readonly proof: readonly string[] | null;
  readonly wantErr: boolean;
}

interface ConsistencyProbe {
  readonly size1: number;
  readonly size2: number;
  readonly root1: string | null;
  readonly root2: string | null;
  readonly proof: readonly string[] | null;
  readonly wantErr: boolean;
}

interface KnownAnswers {
  readonly leavesHex: readonly string[];
  readonly rootsBySize: readonly string[];
  readonly nodeHashesByLevel: readonly (readonly string[])[];
  readonly inclusionProofs: readonly { index: number; size: number; proof: readonly string[] }[];
  readonly consistencyProofs: readonly { size1: number; size2: number; proof: readonly string[] }[];
  readonly accumulated: { readonly max: number; readonly subtreeHash: string; readonly subtreeInclusion: string; readonly subtreeConsistency: string };
}

const b64 = (value: string | null): Buffer => Buffer.from(value ?? "", "base64");
const hex = (value: string): Buffer => Buffer.from(value, "hex");

function jsonFiles(directory: string): string[] {
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".json"))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

const read = <T>(path: string): T => JSON.parse(readFileSync(path, "utf8")) as T;

describe("RFC 6962 vectors (transparency-dev/merkle), from ../shared/vectors", () => {
  it("every inclusion and consistency probe gets the reference verifier's verdict", () => {
    const failures: string[] = [];
    const inclusion = jsonFiles(join(TESTDATA, "inclusion"));
    const consistency = jsonFiles(join(TESTDATA, "consistency"));
    for (const file of inclusion) {
      const probe = read<InclusionProbe>(file);
      const verified = verifyInclusion(b64(probe.leafHash), probe.leafIdx, probe.treeSize, (probe.proof ?? []).map(b64), b64(probe.root));
      if (verified === probe.wantErr) failures.push(`${relative(TESTDATA, file)}: wantErr ${probe.wantErr}`);
    }
    for (const file of consistency) {
      const probe = read<ConsistencyProbe>(file);
      const verified = verifyConsistency(probe.size1, probe.size2, b64(probe.root1), b64(probe.root2), (probe.proof ?? []).map(b64));
      if (verified === probe.wantErr) failures.push(`${relative(TESTDATA, file)}: wantErr ${probe.wantErr}`);
    }
    process.stderr.write(`merkle vectors: ${inclusion.length} inclusion + ${consistency.length} consistency probes, ${failures.length} failed\n`);
    expect(inclusion.length + consistency.length).toBe(196);
    expect(failures).toEqual([]);
  });

  it("every known answer: roots for 0..8 leaves, node hashes, inclusion and consistency proofs, accumulated subtree vectors", () => {
    const answers = read<KnownAnswers>(join(VECTORS, "known-answers.json"));
    const leaves = answers.leavesHex.map((leaf) => leafHash(hex(leaf)));
    let checked = 0;
    answers.rootsBySize.forEach((root, size) => {
      expect(merkleRoot(leaves.slice(0, size)).toString("hex"), `root of ${size}`).toBe(root);
      checked += 1;
    });
    answers.nodeHashesByLevel.forEach((level, depth) =>
      level.forEach((hash, index) => {
        const width = 2 ** depth;
        expect(merkleRoot(leaves.slice(index * width, (index + 1) * width)).toString("hex"), `node ${depth}/${index}`).toBe(hash);
        checked += 1;
      }),
    );
    const root = merkleRoot(leaves);
    for (const known of answers.inclusionProofs) {
      const proof = inclusionProof(leaves, known.index, known.size);
      expect(proof.map((hash) => hash.toString("hex"))).toEqual(known.proof);
      expect(verifyInclusion(leaves[known.index] as Buffer, known.index, known.size, proof, merkleRoot(leaves.slice(0, known.size)))).toBe(true);
      checked += 1;
    }
    for (const known of answers.consistencyProofs) {
      const proof = consistencyProof(leaves, known.size1, known.size2);
      expect(proof.map((hash) => hash.toString("hex"))).toEqual(known.proof);
      expect(verifyConsistency(known.size1, known.size2, merkleRoot(leaves.slice(0, known.size1)), merkleRoot(leaves.slice(0, known.size2)), proof)).toBe(true);
      checked += 1;
    }
    expect(root.toString("hex")).toBe(answers.rootsBySize[8]);

    // Accumulated vectors over 130 one-byte leaves and every valid subtree [start, end): its hash, and
    // each leaf's inclusion proof within it (RFC 6962's MTH and PATH over the subtree's leaves).
    const big = Array.from({ length: answers.accumulated.max }, (_unused, index) => leafHash(Buffer.from([index])));
    const bitCeil = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(n, 1)));
    const valid = (start: number, end: number): boolean => start === 0 || start === end || start % bitCeil(end - start) === 0;
    const hashes = createHash("sha256");
    const inclusions = createHash("sha256");
    for (let end = 0; end <= answers.accumulated.max; end += 1) {
      for (let start = 0; start <= end; start += 1) {
        if (!valid(start, end)) continue;
        const subtree = big.slice(start, end);
        hashes.update(`[${start}, ${end}) ${merkleRoot(subtree).toString("hex")}\n`);
        for (let index = start; index < end; index += 1) {
          const path = inclusionProof(subtree, index - start).map((hash) => ` ${hash.toString("hex")}`);
          inclusions.update(`${index} [${start}, ${end})${path.join("")}\n`);
        }
      }
    }
    expect(hashes.digest("hex")).toBe(answers.accumulated.subtreeHash);
    expect(inclusions.digest("hex")).toBe(answers.accumulated.subtreeInclusion);
    checked += 2;
    process.stderr.write(`merkle vectors: ${checked} known answers checked (subtreeConsistency, a draft-ietf-plants-merkle-tree-certs proof Palisade does not make, is not)\n`);
    expect(checked).toBe(9 + 15 + 5 + 5 + 2);
  }, 120_000);
});
