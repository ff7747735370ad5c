import { type IpAddress, formatIp, isIpv4Mapped, parseIp } from "./ipAddress.js";

/** A CIDR block. IPv4-mapped IPv6 blocks (`::ffff:10.0.0.0/104`) are held as the IPv4 block they cover. */
export interface Cidr {
  readonly family: 4 | 6;
  /** The network address (host bits cleared). */
  readonly network: bigint;
  readonly prefixLength: number;
}

const bitsOf = (family: 4 | 6): number => (family === 4 ? 32 : 128);

/** Every mask, by family and prefix length, made once (a check is then one AND and one compare). */
const MASKS: Readonly<Record<4 | 6, readonly bigint[]>> = {
  4: Array.from({ length: 33 }, (_, prefixLength) => computeMask(4, prefixLength)),
  6: Array.from({ length: 129 }, (_, prefixLength) => computeMask(6, prefixLength)),
};

function computeMask(family: 4 | 6, prefixLength: number): bigint {
  const bits = BigInt(bitsOf(family));
  const hostBits = bits - BigInt(prefixLength);
  return ((1n << bits) - 1n) ^ ((1n << hostBits) - 1n);
}

function maskOf(family: 4 | 6, prefixLength: number): bigint {
  return MASKS[family][prefixLength] ?? computeMask(family, prefixLength);
}

interface CidrParts {
  readonly address: IpAddress;
  /** The written address as a 128-bit IPv6 value when it was written as IPv6 (to see a mapped block). */
  readonly writtenAsV6: boolean;
  readonly prefixLength: number;
}

function splitCidr(text: string): CidrParts | string {
  const trimmed = text.trim();
  if (trimmed === "") return "is empty";
  const slash = trimmed.indexOf("/");
  const addressText = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const prefixText = slash < 0 ? null : trimmed.slice(slash + 1);
  const address = parseIp(addressText);
  if (address === null) return `"${addressText}" is not an IPv4 or IPv6 address`;
  const writtenAsV6 = addressText.includes(":");
  const maxPrefix = writtenAsV6 ? 128 : 32;
  if (prefixText === null) return { address, writtenAsV6, prefixLength: maxPrefix };
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > maxPrefix) {
    return `prefix length "/${prefixText}" must be a whole number from 0 to ${maxPrefix}`;
  }
  return { address, writtenAsV6, prefixLength: Number(prefixText) };
}

function toCidr(parts: CidrParts): Cidr {
  const { address, writtenAsV6, prefixLength } = parts;
  if (address.family === 4 && writtenAsV6) {
    // Written as ::ffff:a.b.c.d/n. Only /96 and longer stay inside the mapped range; shorter
    // prefixes cover ordinary IPv6 space too, so keep them as IPv6 blocks over the mapped value.
    if (prefixLength >= 96) {
      const v4Prefix = prefixLength - 96;
      return { family: 4, network: address.value & maskOf(4, v4Prefix), prefixLength: v4Prefix };
    }
    const mapped = (0xffffn << 32n) | address.value;
    return { family: 6, network: mapped & maskOf(6, prefixLength), prefixLength };
  }
  return { family: address.family, network: address.value & maskOf(address.family, prefixLength), prefixLength };
}

/** Parses `10.0.0.0/8`, `2001:db8::/32`, `::ffff:192.0.2.0/120` or a bare address (a /32 or /128). Null if invalid. */
export function parseCidr(text: string): Cidr | null {
  const parts = splitCidr(text);
  return typeof parts === "string" ? null : toCidr(parts);
}

/**
 * For policy validation: an error message, or null when the block is valid. Stricter than parseCidr:
 * host bits must be clear, so `10.0.0.1/8` (probably a typo) is refused with the block it may have meant.
 */
export function validateCidr(text: string): string | null {
  const parts = splitCidr(text);
  if (typeof parts === "string") return `invalid CIDR block "${text}": ${parts}`;
  const cidr = toCidr(parts);
  const { address } = parts;
  const written = cidr.family === 6 && address.family === 4 ? (0xffffn << 32n) | address.value : address.value;
  const hostBitsSet = written !== cidr.network;
  if (hostBitsSet) {
    const suggestion = `${formatIp({ family: cidr.family, value: cidr.network })}/${cidr.prefixLength}`;
    return `invalid CIDR block "${text}": host bits are set; did you mean ${suggestion}?`;
  }
  return null;
}

/** True when the address (any textual form parseIp accepts) lies in the block. */
export function cidrContains(cidr: Cidr, ip: string | IpAddress): boolean {
  const address = typeof ip === "string" ? parseIp(ip) : ip;
  if (address === null) return false;
  let value = address.value;
  let family = address.family;
  if (cidr.family === 6 && family === 4) {
    // A short IPv6 block (e.g. ::/0) also covers IPv4 clients seen as mapped addresses.
    value = (0xffffn << 32n) | value;
    family = 6;
  } else if (cidr.family === 4 && family === 6 && isIpv4Mapped(value)) {
    value &= 0xffffffffn;
    family = 4;
  }
  if (family !== cidr.family) return false;
  return (value & maskOf(cidr.family, cidr.prefixLength)) === cidr.network;
}

/**
 * The allowlist check: an empty list allows any address (even an unknown one); otherwise the address
 * must be known and inside at least one valid block. Invalid entries match nothing (fail closed).
 */
export function ipAllowed(ip: string | null, allowlist: readonly string[]): boolean {
  if (allowlist.length === 0) return true;
  if (ip === null) return false;
  const address = parseIp(ip);
  if (address === null) return false;
  for (const entry of allowlist) {
    const cidr = allowlistBlock(entry);
    if (cidr !== null && cidrContains(cidr, address)) return true;
  }
  return false;
}

/** Allowlist entries come from the policy, a few per service account: each parsed once, not on every request. */
const MAX_CACHED_BLOCKS = 4_096;
const allowlistBlocks = new Map<string, Cidr | null>();

function allowlistBlock(entry: string): Cidr | null {
  let cidr = allowlistBlocks.get(entry);
  if (cidr === undefined) {
    cidr = parseCidr(entry);
    if (allowlistBlocks.size < MAX_CACHED_BLOCKS) allowlistBlocks.set(entry, cidr);
  }
  return cidr;
}
