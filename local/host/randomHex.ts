import { randomFillSync } from "node:crypto";

/**
 * Random ids (trace and span ids) drawn from a pool filled a few kilobytes at a time: one
 * `randomBytes` call per id allocated a buffer and crossed into C++ twice per request.
 */
const pool = Buffer.alloc(4096);
let offset = pool.length;

/** `byteCount` random bytes as lowercase hex; never all zeros (W3C trace context forbids that id). */
export function randomHex(byteCount: number): string {
  if (offset + byteCount > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString("hex", offset, offset + byteCount);
  offset += byteCount;
  return /^0+$/.test(hex) ? randomHex(byteCount) : hex;
}
