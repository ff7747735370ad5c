import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { randomUuid } from "../../../src/adapters/random/randomUuid.js";

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("randomUuid", () => {
  it("makes version 4 UUIDs in crypto.randomUUID's form, distinct across many entropy refills", () => {
    expect(randomUUID()).toMatch(V4);
    const seen = new Set<string>();
    for (let index = 0; index < 20_000; index += 1) {
      const id = randomUuid();
      expect(id).toMatch(V4);
      seen.add(id);
    }
    expect(seen.size).toBe(20_000);
  });

  it("uses every hex digit in every free position (no stuck bits)", () => {
    const digitsAt = Array.from({ length: 36 }, () => new Set<string>());
    for (let index = 0; index < 2_000; index += 1) [...randomUuid()].forEach((char, position) => digitsAt[position]?.add(char));
    digitsAt.forEach((digits, position) => {
      if ([8, 13, 18, 23].includes(position)) expect([...digits]).toEqual(["-"]);
      else if (position === 14) expect([...digits]).toEqual(["4"]);
      else if (position === 19) expect([...digits].sort()).toEqual(["8", "9", "a", "b"]);
      else expect(digits.size).toBe(16);
    });
  });
});
