import { randomBytes } from "node:crypto";

/**
 * ECDSA on P-256 over a digest the caller has already computed, as Key Vault's `sign`/`verify` take
 * it. node:crypto always hashes its input, so the curve arithmetic is done here with BigInt.
 * Not constant-time: this is for the local emulator only, never for production keys.
 */

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const G: Affine = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
};

interface Affine {
  readonly x: bigint;
  readonly y: bigint;
}
/** Jacobian coordinates; z = 0 is the point at infinity. */
interface Jacobian {
  readonly x: bigint;
  readonly y: bigint;
  readonly z: bigint;
}
const INFINITY: Jacobian = { x: 1n, y: 1n, z: 0n };

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function invert(a: bigint, m: bigint): bigint {
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new Error("not invertible");
  return mod(oldS, m);
}

function double(p: Jacobian): Jacobian {
  if (p.z === 0n || p.y === 0n) return INFINITY;
  const delta = mod(p.z * p.z, P);
  const gamma = mod(p.y * p.y, P);
  const beta = mod(p.x * gamma, P);
  const alpha = mod(3n * (p.x - delta) * (p.x + delta), P);
  const x = mod(alpha * alpha - 8n * beta, P);
  const z = mod((p.y + p.z) * (p.y + p.z) - gamma - delta, P);
  const y = mod(alpha * (4n * beta - x) - 8n * gamma * gamma, P);
  return { x, y, z };
}

function add(p: Jacobian, q: Jacobian): Jacobian {
  if (p.z === 0n) return q;
  if (q.z === 0n) return p;
  const z1z1 = mod(p.z * p.z, P);
  const z2z2 = mod(q.z * q.z, P);
  const u1 = mod(p.x * z2z2, P);
  const u2 = mod(q.x * z1z1, P);
  const s1 = mod(p.y * q.z * z2z2, P);
  const s2 = mod(q.y * p.z * z1z1, P);
  if (u1 === u2) return s1 === s2 ? double(p) : INFINITY;
  const h = mod(u2 - u1, P);
  const r = mod(s2 - s1, P);
  const h2 = mod(h * h, P);
  const h3 = mod(h2 * h, P);
  const x = mod(r * r - h3 - 2n * u1 * h2, P);
  const y = mod(r * (u1 * h2 - x) - s1 * h3, P);
  const z = mod(h * p.z * q.z, P);
  return { x, y, z };
}

function multiply(point: Affine, scalar: bigint): Jacobian {
  let result = INFINITY;
  const base: Jacobian = { x: point.x, y: point.y, z: 1n };
  for (let bit = BigInt(scalar.toString(2).length - 1); bit >= 0n; bit--) {
    result = double(result);
    if ((scalar >> bit) & 1n) result = add(result, base);
  }
  return result;
}

function toAffine(p: Jacobian): Affine | null {
  if (p.z === 0n) return null;
  const zInv = invert(p.z, P);
  const zInv2 = mod(zInv * zInv, P);
  return { x: mod(p.x * zInv2, P), y: mod(p.y * zInv2 * zInv, P) };
}

function isOnCurve(q: Affine): boolean {
  return mod(q.y * q.y - (q.x * q.x * q.x - 3n * q.x + B), P) === 0n;
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString("hex")}`);
}

function toBytes32(value: bigint): Buffer {
  return Buffer.from(value.toString(16).padStart(64, "0"), "hex");
}

function randomScalar(): bigint {
  for (;;) {
    const k = toBigInt(randomBytes(32));
    if (k > 0n && k < N) return k;
  }
}

export interface P256PrivateKey {
  /** base64url private scalar, as in a JWK. */
  readonly d: string;
}
export interface P256PublicKey {
  /** base64url coordinates, as in a JWK. */
  readonly x: string;
  readonly y: string;
}

const fromBase64Url = (value: string): bigint => toBigInt(Buffer.from(value, "base64url"));

/** Signs a 32-byte digest; returns r||s (64 bytes), Key Vault's and JWS's ES256 format. */
export function signP256Digest(key: P256PrivateKey, digest: Uint8Array): Buffer {
  const d = fromBase64Url(key.d);
  const z = toBigInt(digest);
  for (;;) {
    const k = randomScalar();
    const kG = toAffine(multiply(G, k));
    if (kG === null) continue;
    const r = mod(kG.x, N);
    if (r === 0n) continue;
    const s = mod(invert(k, N) * (z + r * d), N);
    if (s === 0n) continue;
    return Buffer.concat([toBytes32(r), toBytes32(s)]);
  }
}

/** Verifies an r||s signature over a 32-byte digest. */
export function verifyP256Digest(key: P256PublicKey, digest: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  const r = toBigInt(signature.subarray(0, 32));
  const s = toBigInt(signature.subarray(32));
  if (r <= 0n || r >= N || s <= 0n || s >= N) return false;
  const q: Affine = { x: fromBase64Url(key.x), y: fromBase64Url(key.y) };
  if (!isOnCurve(q)) return false;
  const w = invert(s, N);
  const u1 = mod(toBigInt(digest) * w, N);
  const u2 = mod(r * w, N);
  const point = toAffine(add(multiply(G, u1), multiply(q, u2)));
  return point !== null && mod(point.x, N) === r;
}
