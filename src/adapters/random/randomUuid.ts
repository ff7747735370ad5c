import { randomFillSync } from "node:crypto";

/** Random bytes for 256 ids, filled at once (as Node's own randomUUID caches its entropy). */
const POOL_BYTES = 16 * 256;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;
/** The id's 36 characters are written here, then read out as one string. */
const text = Buffer.alloc(36);
const HEX_DIGITS = Buffer.from("0123456789abcdef", "latin1");
const DASH = 0x2d;

/**
 * A random (version 4) UUID, as `crypto.randomUUID()` makes it: 122 bits from the same CSPRNG, the
 * same lowercase form. Node builds its string from 20 concatenated pieces (~620 bytes of short-lived
 * strings an id); this writes the characters into a buffer and reads them out once (~80 bytes).
 * The request path makes three or four a request (audit event ids, the invocation id).
 */
export function randomUuid(): string {
  if (offset === POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  let at = 0;
  for (let index = 0; index < 16; index += 1) {
    let byte = pool[offset + index] ?? 0;
    // RFC 9562: version 4 in the high nibble of byte 6, variant 10 in the top bits of byte 8.
    if (index === 6) byte = (byte & 0x0f) | 0x40;
    else if (index === 8) byte = (byte & 0x3f) | 0x80;
    if (index === 4 || index === 6 || index === 8 || index === 10) text[at++] = DASH;
    text[at++] = HEX_DIGITS[byte >> 4] ?? 0;
    text[at++] = HEX_DIGITS[byte & 0x0f] ?? 0;
  }
  offset += 16;
  return text.toString("latin1", 0, 36);
}
