import { createHash } from "node:crypto";
import { type AuditDeadLetters, type DeadLetter, type StoredDeadLetter } from "../../src/core/audit/AuditDeadLetters.js";

export class InMemoryAuditDeadLetters implements AuditDeadLetters {
  /** `<chain>/<message id>` -> letter, first write wins. */
  readonly letters = new Map<string, StoredDeadLetter>();

  async put(letters: readonly DeadLetter[]): Promise<void> {
    for (const letter of letters) {
      const key = `${letter.chainId ?? ""}/${letter.messageId}`;
      if (this.letters.has(key)) continue;
      const body = Buffer.from(letter.body);
      this.letters.set(key, {
        ...letter,
        body,
        deadLetteredAt: new Date(0).toISOString(),
        bodyBytes: body.length,
        bodySha256: createHash("sha256").update(body).digest("hex"),
        bodyTruncated: false,
      });
    }
  }

  async *list(): AsyncIterable<StoredDeadLetter> {
    yield* [...this.letters.values()];
  }
}
