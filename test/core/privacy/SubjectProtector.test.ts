import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { type SubjectKeyStore } from "../../../src/core/privacy/SubjectKeyStore.js";
import { SubjectProtector, parseSubjectValue, subjectPepperFrom } from "../../../src/core/privacy/SubjectProtector.js";
import { InMemorySubjectKeyStore } from "../../fakes/InMemorySubjectKeyStore.js";

const pepper = subjectPepperFrom(randomBytes(32));
const protector = (keys: SubjectKeyStore = new InMemorySubjectKeyStore(), extra: Partial<ConstructorParameters<typeof SubjectProtector>[0]> = {}) =>
  new SubjectProtector({ pepper, keys, random: (n) => randomBytes(n), ...extra });

class CountingStore extends InMemorySubjectKeyStore {
  calls = 0;
  override async getOrCreate(keyRef: string, wrappedKey: string): Promise<string> {
    this.calls += 1;
    return super.getOrCreate(keyRef, wrappedKey);
  }
}

describe("SubjectProtector", () => {
  it("gives a stable pseudonym and a fresh ciphertext that never holds the id in clear", async () => {
    const p = protector();
    const a = await p.protect("alice@example.com");
    const b = await p.protect("alice@example.com");
    const other = await p.protect("bob@example.com");
    expect(a.pseudonym).toMatch(/^[0-9a-f]{32}$/);
    expect(a.value).toMatch(/^[0-9a-f]{32}:[A-Za-z0-9_-]+$/);
    expect(b.pseudonym).toBe(a.pseudonym);
    expect(b.value).not.toBe(a.value);
    expect(other.pseudonym).not.toBe(a.pseudonym);
    expect(a.value).not.toContain("alice");
    expect(Buffer.from(parseSubjectValue(a.value)!.sealed, "base64url").toString("latin1")).not.toContain("alice");
    expect(a.value.length).toBeLessThan(1024);
  });

  it("stores keys only wrapped and under the HMAC reference, never the id", async () => {
    const keys = new InMemorySubjectKeyStore();
    const p = protector(keys);
    await p.protect("alice@example.com");
    const rows = [...keys.rows.entries()];
    expect(rows).toHaveLength(1);
    const [ref, wrapped] = rows[0]!;
    expect(ref).toBe(p.keyRefOf("alice@example.com"));
    expect(ref).not.toContain("alice");
    expect(Buffer.from(wrapped, "base64url").length).toBe(12 + 32 + 16);
  });

  it("reveals only this subject's values; a tampered value does not decrypt", async () => {
    const p = protector();
    const alice = await p.protect("alice");
    const bob = await p.protect("bob");
    const opener = (await p.openerFor("alice"))!;
    expect(opener.pseudonym).toBe(alice.pseudonym);
    expect(opener.reveal(alice.value)).toBe("alice");
    expect(opener.reveal(bob.value)).toBeNull();
    const flipped = alice.value.slice(0, -2) + (alice.value.at(-2) === "A" ? "B" : "A") + alice.value.slice(-1);
    expect(flipped).not.toBe(alice.value);
    expect(opener.reveal(flipped)).toBeNull();
    expect(await p.openerFor("carol")).toBeNull();
  });

  it("after destroy, nothing can be read or linked; a returning subject gets a new key and pseudonym", async () => {
    const p = protector();
    const before = await p.protect("alice");
    expect(await p.destroy("alice")).toBe(true);
    expect(await p.openerFor("alice")).toBeNull();
    expect(await p.destroy("alice")).toBe(false);
    const after = await p.protect("alice");
    expect(after.pseudonym).not.toBe(before.pseudonym);
    expect((await p.openerFor("alice"))!.reveal(before.value)).toBeNull();
  });

  it("refuses keys wrapped under another pepper", async () => {
    const keys = new InMemorySubjectKeyStore();
    await protector(keys).protect("alice");
    const otherPepper = new SubjectProtector({ pepper: subjectPepperFrom(randomBytes(32)), keys, random: (n) => randomBytes(n) });
    // Different pepper: different reference, so the old row is not even found...
    expect(await otherPepper.openerFor("alice")).toBeNull();
    // ...and a row moved under another reference does not unwrap.
    const wrapped = [...keys.rows.values()][0]!;
    keys.rows.set(otherPepper.keyRefOf("alice"), wrapped);
    await expect(otherPepper.openerFor("alice")).rejects.toThrow(/could not be unwrapped/);
  });

  it("caches keys for the TTL when given a clock", async () => {
    const store = new CountingStore();
    const clock = new ManualClock();
    const p = protector(store, { clock, keyCacheTtlInMs: 1_000 });
    await p.protect("alice");
    await p.protect("alice");
    expect(store.calls).toBe(1);
    clock.advance(1_001);
    await p.protect("alice");
    expect(store.calls).toBe(2);
  });

  it("needs a pepper of at least 32 bytes", () => {
    expect(() => new SubjectProtector({ pepper: new Uint8Array(16), keys: new InMemorySubjectKeyStore(), random: (n) => randomBytes(n) })).toThrow(/32 bytes/);
  });
});
