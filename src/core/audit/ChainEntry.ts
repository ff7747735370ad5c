import { type AuditEvent } from "./AuditEvent.js";
import { canonicalJson } from "./canonicalJson.js";
import { sha256, sha256Hex } from "./hashing.js";
import { leafHash } from "./merkle.js";

/**
 * One entry of a chain, as stored. `canonical` is the RFC 8785 (JCS) serialisation of
 * `{ format, chain, seq, ts, prev, event }`; `hash` is SHA-256 over its UTF-8 bytes, so the hash
 * commits to the chain id, the sequence number, the append timestamp and the previous hash as well
 * as the event. The other fields are queryable copies that the verifier checks against `canonical`.
 */
export interface StoredEntry {
  readonly chainId: string;
  /** The storage key: the zero-padded sequence number (a verifier never trusts it blindly). */
  readonly rowKey: string;
  readonly canonical: string;
  readonly hash: string;
  readonly prevHash: string;
  readonly eventId: string;
  readonly type: string;
  readonly actorId: string;
  /** When the entry was appended (ISO 8601 UTC). */
  readonly ts: string;
  /** The event's own timestamp. */
  readonly eventTs: string;
}

export interface EntryBody {
  readonly format: typeof ENTRY_FORMAT;
  readonly chain: string;
  readonly seq: number;
  readonly ts: string;
  readonly prev: string;
  readonly event: AuditEvent;
}

export const ENTRY_FORMAT = "palisade-audit-entry/v1";
/** The `prev` of entry 0. */
export const GENESIS_HASH = "0".repeat(64);
export const SEQUENCE_DIGITS = 12;
export const MAX_SEQUENCE = 10 ** SEQUENCE_DIGITS - 1;
/** Table Storage strings are at most 64 KiB (32K UTF-16 units); stay well below. */
export const MAX_CANONICAL_LENGTH = 30_000;

const SEQUENCE_PATTERN = /^\d{12}$/;

export function formatSequence(sequence: number): string {
  if (!Number.isInteger(sequence) || sequence < 0 || sequence > MAX_SEQUENCE) throw new RangeError(`Sequence ${sequence} is out of range`);
  return String(sequence).padStart(SEQUENCE_DIGITS, "0");
}

/** The sequence number a row key names, or null when it names none. */
export function parseSequence(rowKey: string): number | null {
  return SEQUENCE_PATTERN.test(rowKey) ? Number(rowKey) : null;
}

export { canonicalJson };

export interface CreateEntryInput {
  readonly chainId: string;
  readonly sequence: number;
  readonly ts: string;
  readonly prevHash: string;
  readonly event: AuditEvent;
}

/**
 * `canonicalJson` of the entry's body, its six members written in RFC 8785 order (chain, event,
 * format, prev, seq, ts) so sorting them costs a pass; one writer makes the whole text, the event
 * included, as one string (a template around the event's text made a rope and then its flat copy).
 */
function canonicalEntryBody(input: CreateEntryInput): string {
  return canonicalJson({ chain: input.chainId, event: input.event, format: ENTRY_FORMAT, prev: input.prevHash, seq: input.sequence, ts: input.ts });
}

export function createEntry(input: CreateEntryInput): StoredEntry {
  const rowKey = formatSequence(input.sequence);
  const canonical = canonicalEntryBody(input);
  return {
    chainId: input.chainId,
    rowKey,
    canonical,
    hash: sha256Hex(canonical),
    prevHash: input.prevHash,
    eventId: input.event.eventId,
    type: input.event.type,
    actorId: input.event.actor.id,
    ts: input.ts,
    eventTs: input.event.ts,
  };
}

/** Parses canonical bytes back into a body; null when they are not a well-formed entry. */
export function parseEntryBody(canonical: string): EntryBody | null {
  let value: unknown;
  try {
    value = JSON.parse(canonical);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const body = value as Partial<EntryBody>;
  if (
    body.format !== ENTRY_FORMAT ||
    typeof body.chain !== "string" ||
    typeof body.seq !== "number" ||
    typeof body.ts !== "string" ||
    typeof body.prev !== "string" ||
    typeof body.event !== "object" ||
    body.event === null
  ) {
    return null;
  }
  return body as EntryBody;
}

/**
 * The entry's Merkle leaf hash. Leaf data is the entry's 32-byte SHA-256 (which commits to the
 * canonical bytes, chain id, sequence, timestamps and previous hash): SHA-256(0x00 || SHA-256(canonical)).
 */
export function entryLeafHash(canonical: string): Buffer {
  return leafHash(sha256(canonical));
}
