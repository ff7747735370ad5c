import { type TableClient } from "@azure/data-tables";
import { createHash } from "node:crypto";
import { type AuditDeadLetters, type DeadLetter, type DeadLetterOptions, type StoredDeadLetter } from "../../../core/audit/AuditDeadLetters.js";
import { ensureTable, once, statusCodeOf } from "../../azure/azureErrors.js";

export const AUDIT_DEAD_LETTER_TABLE = "AuditDeadLetters";
/** Binary properties hold at most 64 KiB; an entity at most 1 MiB. */
const CHUNK_BYTES = 60_000;
const MAX_CHUNKS = 12;
/** Messages without a session id (not an audit chain) share one partition. */
const NO_CHAIN = "_none";

const chunkName = (index: number): string => `body${String(index).padStart(2, "0")}`;

/**
 * The dead-letter store in table `AuditDeadLetters`: PartitionKey = chain (session) id, RowKey = message
 * id (both percent-encoded), the reason, delivery facts, and the body in binary chunks (the first
 * 720,000 bytes; size and SHA-256 of the whole). Insert-only, so a redelivered message keeps its first row.
 */
export class TableAuditDeadLetters implements AuditDeadLetters {
  private readonly ready = once(() => (this.options.createTableIfMissing === false ? Promise.resolve() : ensureTable(() => this.table.createTable())));

  constructor(
    private readonly table: TableClient,
    private readonly options: { readonly createTableIfMissing?: boolean } = {},
  ) {}

  async put(letters: readonly DeadLetter[], options: DeadLetterOptions = {}): Promise<void> {
    if (letters.length === 0) return;
    await this.ready();
    const deadLetteredAt = new Date().toISOString();
    await Promise.all(
      letters.map(async (letter) => {
        const body = Buffer.from(letter.body);
        const chunks: Record<string, Uint8Array> = {};
        for (let i = 0; i < MAX_CHUNKS && i * CHUNK_BYTES < body.length; i += 1) chunks[chunkName(i)] = body.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES);
        try {
          await this.table.createEntity(
            {
              partitionKey: encodeURIComponent(letter.chainId ?? NO_CHAIN),
              rowKey: encodeURIComponent(letter.messageId),
              messageId: letter.messageId,
              ...(letter.chainId === undefined ? {} : { chainId: letter.chainId }),
              reason: letter.reason.slice(0, 4_000),
              deadLetteredAt,
              ...(letter.deliveryCount === undefined ? {} : { deliveryCount: letter.deliveryCount }),
              ...(letter.enqueuedTimeUtc === undefined ? {} : { enqueuedTimeUtc: letter.enqueuedTimeUtc }),
              bodyBytes: body.length,
              bodySha256: createHash("sha256").update(body).digest("hex"),
              bodyTruncated: body.length > MAX_CHUNKS * CHUNK_BYTES,
              ...chunks,
            },
            { abortSignal: options.abortSignal },
          );
        } catch (error) {
          if (statusCodeOf(error) !== 409) throw error;
        }
      }),
    );
  }

  async *list(options: DeadLetterOptions = {}): AsyncIterable<StoredDeadLetter> {
    await this.ready();
    for await (const row of this.table.listEntities<Record<string, unknown>>({ abortSignal: options.abortSignal })) {
      const parts: Uint8Array[] = [];
      for (let i = 0; i < MAX_CHUNKS; i += 1) {
        const part = row[chunkName(i)];
        if (!(part instanceof Uint8Array)) break;
        parts.push(part);
      }
      const text = (key: string): string | undefined => (typeof row[key] === "string" ? row[key] : undefined);
      const chainId = text("chainId");
      const enqueuedTimeUtc = text("enqueuedTimeUtc");
      yield {
        messageId: text("messageId") ?? "",
        ...(chainId === undefined ? {} : { chainId }),
        reason: text("reason") ?? "",
        body: Buffer.concat(parts),
        ...(typeof row.deliveryCount === "number" ? { deliveryCount: row.deliveryCount } : {}),
        ...(enqueuedTimeUtc === undefined ? {} : { enqueuedTimeUtc }),
        deadLetteredAt: text("deadLetteredAt") ?? "",
        bodyBytes: typeof row.bodyBytes === "number" ? row.bodyBytes : 0,
        bodySha256: text("bodySha256") ?? "",
        bodyTruncated: row.bodyTruncated === true,
      };
    }
  }
}
