import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type AuditDeadLetters, type StoredDeadLetter } from "../../src/core/audit/AuditDeadLetters.js";

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export function describeAuditDeadLettersContract(label: string, factory: () => Promise<{ deadLetters: AuditDeadLetters }>): void {
  describe(`AuditDeadLetters contract: ${label}`, () => {
    it("keeps each message with its reason and body; a redelivered message keeps its first record", async () => {
      const { deadLetters } = await factory();
      const big = randomBytes(150_000);
      await deadLetters.put([
        { messageId: "m/1#?", chainId: "proj/a", reason: "invalid_json: the message body is not JSON", body: Buffer.from("{oops"), deliveryCount: 0, enqueuedTimeUtc: "2026-01-01T00:00:00.000Z" },
        { messageId: "m2", reason: "schema: type", body: big },
      ]);
      await deadLetters.put([{ messageId: "m/1#?", chainId: "proj/a", reason: "a later reason", body: Buffer.from("other") }]);
      await deadLetters.put([]);
      const listed = (await collect(deadLetters.list())).sort((a, b) => a.messageId.localeCompare(b.messageId));
      expect(listed).toHaveLength(2);
      const [first, second] = listed as [StoredDeadLetter, StoredDeadLetter];
      expect(first).toMatchObject({ messageId: "m/1#?", chainId: "proj/a", reason: "invalid_json: the message body is not JSON", deliveryCount: 0, bodyBytes: 5, bodyTruncated: false });
      expect(first.enqueuedTimeUtc).toBe("2026-01-01T00:00:00.000Z");
      expect(Buffer.from(first.body).toString("utf8")).toBe("{oops");
      expect(second).toMatchObject({ messageId: "m2", reason: "schema: type", bodyBytes: 150_000, bodyTruncated: false });
      expect(second.chainId).toBeUndefined();
      expect(Buffer.from(second.body).equals(big)).toBe(true);
      expect(second.bodySha256).toBe(createHash("sha256").update(big).digest("hex"));
      expect(Number.isNaN(Date.parse(second.deadLetteredAt))).toBe(false);
    });
  });
}
