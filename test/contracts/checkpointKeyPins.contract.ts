import { describe, expect, it } from "vitest";
import { type CheckpointKeyPin, type StoredKeyPin } from "../../src/core/audit/checkpointKeyPin.js";
import { type CheckpointKeyPins } from "../../src/core/audit/CheckpointKeyPins.js";

const pin = (index: number, keyId = `k${index}`): CheckpointKeyPin => ({
  index,
  keyId,
  publicKey: { kty: "EC", crv: "P-256", x: "x".repeat(43), y: "y".repeat(43) },
  thumbprint: "t".repeat(43),
  pinnedAt: "2026-01-01T00:00:00.000Z",
  previousKeyId: index === 0 ? null : `k${index - 1}`,
  previousPinHash: index === 0 ? null : "ab".repeat(32),
  algorithm: "ES256",
  selfSignature: Buffer.alloc(64, index).toString("base64"),
  previousKeySignature: index === 0 ? null : Buffer.alloc(64, 9).toString("base64"),
});

async function collect(items: AsyncIterable<StoredKeyPin>): Promise<StoredKeyPin[]> {
  const out: StoredKeyPin[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Pins are write-once and listed by index; what cannot be read is listed as unreadable, never skipped. */
export function describeCheckpointKeyPinsContract(label: string, factory: () => Promise<{ pins: CheckpointKeyPins; corrupt: (index: number, text: string) => Promise<void> }>): void {
  describe(`CheckpointKeyPins contract: ${label}`, () => {
    it("stores pins once and lists them by index", async () => {
      const { pins } = await factory();
      expect(await collect(pins.list())).toEqual([]);
      expect(await pins.put(pin(1))).toBe("stored");
      expect(await pins.put(pin(0))).toBe("stored");
      expect(await pins.put(pin(1, "other"))).toBe("exists");
      expect(await collect(pins.list())).toEqual([
        { index: 0, pin: pin(0) },
        { index: 1, pin: pin(1) },
      ]);
    });

    it("lists a damaged pin as unreadable", async () => {
      const { pins, corrupt } = await factory();
      await pins.put(pin(0));
      await corrupt(1, '{"index":1,"keyId":');
      const listed = await collect(pins.list());
      expect(listed[0]).toEqual({ index: 0, pin: pin(0) });
      expect(listed[1]).toMatchObject({ index: 1, unreadable: expect.any(String) });
    });
  });
}
