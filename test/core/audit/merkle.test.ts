import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  MerkleAccumulator,
  merkleRoot,
  verifyConsistency,
  verifyInclusion,
} from "../../../src/core/audit/merkle.js";

// RFC 6962 test vectors (certificate-transparency reference implementation).
const VECTOR_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map((h) => Buffer.from(h, "hex"));
const VECTOR_ROOTS = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

const leavesOf = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => leafHash(`leaf-${i}`));

describe("RFC 6962 Merkle hashing", () => {
  it("matches the reference roots for sizes 1..8", () => {
    const leaves = VECTOR_LEAVES.map((d) => leafHash(d));
    VECTOR_ROOTS.forEach((root, i) => expect(merkleRoot(leaves.slice(0, i + 1)).toString("hex")).toBe(root));
    expect(merkleRoot([]).toString("hex")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("the accumulator's root equals MTH at every size", () => {
    const leaves = leavesOf(70);
    const acc = new MerkleAccumulator();
    expect(acc.root().equals(merkleRoot([]))).toBe(true);
    leaves.forEach((leaf, i) => {
      acc.push(leaf);
      expect(acc.root().toString("hex")).toBe(merkleRoot(leaves.slice(0, i + 1)).toString("hex"));
    });
  });

  it("every inclusion proof verifies, and only for its own leaf, index and root", () => {
    for (let n = 1; n <= 33; n += 1) {
      const leaves = leavesOf(n);
      const root = merkleRoot(leaves);
      for (let i = 0; i < n; i += 1) {
        const proof = inclusionProof(leaves, i);
        expect(verifyInclusion(leaves[i]!, i, n, proof, root)).toBe(true);
        if (n > 1) {
          expect(verifyInclusion(leaves[(i + 1) % n]!, i, n, proof, root)).toBe(false);
          expect(verifyInclusion(leaves[i]!, (i + 1) % n, n, proof, root)).toBe(false);
        }
      }
    }
  });

  it("a flipped bit anywhere in an inclusion proof fails it", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 64 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (n, iSeed, pSeed, bit) => {
        const leaves = leavesOf(n);
        const i = iSeed % n;
        const proof = inclusionProof(leaves, i);
        const p = pSeed % proof.length;
        const tampered = proof.map((h) => Buffer.from(h));
        tampered[p]![bit % 32]! ^= 1 << (bit % 8);
        return !verifyInclusion(leaves[i]!, i, n, tampered, merkleRoot(leaves));
      }),
      { numRuns: 200 },
    );
  });

  it("consistency proofs verify between every pair of sizes and fail for a different history", () => {
    const leaves = leavesOf(40);
    const other = leaves.map((l, i) => (i === 3 ? leafHash("forged") : l));
    for (let n = 1; n <= 40; n += 1) {
      const newRoot = merkleRoot(leaves.slice(0, n));
      for (let m = 1; m <= n; m += 1) {
        const proof = consistencyProof(leaves, m, n);
        const oldRoot = merkleRoot(leaves.slice(0, m));
        expect(verifyConsistency(m, n, oldRoot, newRoot, proof)).toBe(true);
        if (m > 3) expect(verifyConsistency(m, n, merkleRoot(other.slice(0, m)), newRoot, proof)).toBe(false);
        if (n > 3) expect(verifyConsistency(m, n, oldRoot, merkleRoot(other.slice(0, n)), proof)).toBe(false);
      }
    }
  });

  it("the accumulator's last-leaf proof is RFC 6962's PATH(n-1, D[0:n]), and resuming from it continues the same tree", () => {
    const leaves = leavesOf(70);
    const accumulator = new MerkleAccumulator();
    for (let n = 1; n <= 70; n += 1) {
      accumulator.push(leaves[n - 1]!);
      const proof = accumulator.lastLeafProof();
      expect(proof).toEqual(inclusionProof(leaves, n - 1, n));
      expect(verifyInclusion(leaves[n - 1]!, n - 1, n, proof, merkleRoot(leaves.slice(0, n)))).toBe(true);
      const resumed = MerkleAccumulator.resume(n, leaves[n - 1]!, proof);
      expect(resumed.size).toBe(n);
      expect(resumed.root()).toEqual(merkleRoot(leaves.slice(0, n)));
      for (let m = n + 1; m <= Math.min(70, n + 9); m += 1) {
        resumed.push(leaves[m - 1]!);
        expect(resumed.root()).toEqual(merkleRoot(leaves.slice(0, m)));
        expect(resumed.lastLeafProof()).toEqual(inclusionProof(leaves, m - 1, m));
      }
    }
    expect(() => MerkleAccumulator.resume(6, leaves[5]!, [leaves[0]!])).toThrow(RangeError);
    expect(() => new MerkleAccumulator().lastLeafProof()).toThrow(RangeError);
  });
});
