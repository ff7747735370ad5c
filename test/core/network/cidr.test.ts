import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cidrContains, ipAllowed, parseCidr, validateCidr } from "../../../src/core/network/cidr.js";
import { formatIp, normalizeIp, parseIp } from "../../../src/core/network/ipAddress.js";

const contains = (cidr: string, ip: string): boolean => {
  const parsed = parseCidr(cidr);
  if (parsed === null) throw new Error(`bad test CIDR ${cidr}`);
  return cidrContains(parsed, ip);
};

describe("parseIp / formatIp", () => {
  it.each([
    ["192.0.2.1", "192.0.2.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["::", "::"],
    ["::1", "::1"],
    ["2001:DB8::1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"],
    ["::ffff:192.0.2.1", "192.0.2.1"],
    ["::FFFF:c000:0201", "192.0.2.1"],
    ["::192.0.2.1", "::c000:201"],
    ["64:ff9b::192.0.2.1", "64:ff9b::c000:201"],
    ["fe80::", "fe80::"],
  ])("%s -> %s", (input, canonical) => {
    const parsed = parseIp(input);
    expect(parsed).not.toBeNull();
    expect(formatIp(parsed!)).toBe(canonical);
  });

  it.each([
    "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-1", "1.2.3.4 ", "a.b.c.d",
    "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "::g", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7::8",
    "1.2.3.4::", "::ffff:1.2.3", "fe80::1%eth0", "[::1]", "1:2:3:4:5:6:7:1.2.3.4",
  ])("rejects %j", (input) => {
    expect(parseIp(input)).toBeNull();
  });

  it("round-trips every IPv6 value through its canonical text", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (value) => {
        const text = formatIp({ family: 6, value });
        const back = parseIp(text);
        expect(back).not.toBeNull();
        if (back!.family === 6) expect(back!.value).toBe(value);
        else expect((0xffffn << 32n) | back!.value).toBe(value);
      }),
      { numRuns: 300 },
    );
  });
});

describe("normalizeIp", () => {
  it.each([
    ["1.2.3.4:5678", "1.2.3.4"],
    ["[2001:db8::1]:443", "2001:db8::1"],
    ["[2001:db8::1]", "2001:db8::1"],
    ["::ffff:10.1.2.3", "10.1.2.3"],
    ["fe80::1%eth0", "fe80::1"],
    [" 10.0.0.1 ", "10.0.0.1"],
  ])("%s -> %s", (input, expected) => {
    expect(normalizeIp(input)).toBe(expected);
  });

  it.each(["unknown", "1.2.3.4:99999999", "[::1", "[::1]x", "host.example:80", ""])("rejects %j", (input) => {
    expect(normalizeIp(input)).toBeNull();
  });
});

describe("cidrContains", () => {
  it.each([
    ["10.0.0.0/8", "10.255.1.2", true],
    ["10.0.0.0/8", "11.0.0.0", false],
    ["192.168.1.0/24", "192.168.1.255", true],
    ["192.168.1.0/24", "192.168.2.0", false],
    ["203.0.113.7/32", "203.0.113.7", true],
    ["203.0.113.7/32", "203.0.113.8", false],
    ["203.0.113.7", "203.0.113.7", true],
    ["0.0.0.0/0", "8.8.8.8", true],
    ["0.0.0.0/0", "2001:db8::1", false],
    ["10.0.0.0/8", "::ffff:10.9.9.9", true],
    ["10.0.0.0/8", "::ffff:11.9.9.9", false],
    ["::ffff:10.0.0.0/104", "10.1.2.3", true],
    ["::ffff:10.0.0.0/104", "11.1.2.3", false],
    ["::ffff:0:0/96", "1.2.3.4", true],
    ["2001:db8::/32", "2001:db8:ffff::1", true],
    ["2001:db8::/32", "2001:db9::1", false],
    ["2001:db8::1/128", "2001:db8::1", true],
    ["2001:db8::1/128", "2001:db8::2", false],
    ["2001:db8::/64", "2001:DB8:0:0:ffff::", true],
    ["::/0", "2001:db8::1", true],
    ["::/0", "1.2.3.4", true],
    ["2001:db8::/32", "10.0.0.1", false],
    ["10.0.0.0/8", "2001:db8::1", false],
    ["fe80::/10", "febf::1", true],
    ["fe80::/10", "fec0::1", false],
    ["10.0.0.1/8", "10.200.0.0", true],
  ])("%s contains %s: %s", (cidr, ip, expected) => {
    expect(contains(cidr, ip)).toBe(expected);
  });

  it("never matches an unparsable address", () => {
    expect(contains("0.0.0.0/0", "not-an-ip")).toBe(false);
  });

  it("agrees with a bitwise reference on random IPv4 blocks and addresses", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 0xffffffff }), (network, prefix, address) => {
        const dotted = (n: number): string => [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join(".");
        const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
        const expected = ((network & mask) >>> 0) === ((address & mask) >>> 0);
        expect(contains(`${dotted(network)}/${prefix}`, dotted(address))).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe("parseCidr / validateCidr", () => {
  it.each(["10.0.0.0/8", "0.0.0.0/0", "1.2.3.4/32", "1.2.3.4", "2001:db8::/32", "::/0", "::1/128", "::ffff:10.0.0.0/104"])("accepts %s", (text) => {
    expect(parseCidr(text)).not.toBeNull();
    expect(validateCidr(text)).toBeNull();
  });

  it.each([
    ["10.0.0.0/33", "prefix length"],
    ["2001:db8::/129", "prefix length"],
    ["10.0.0.0/-1", "prefix length"],
    ["10.0.0.0/08", "prefix length"],
    ["10.0.0.0/", "prefix length"],
    ["10.0.0/8", "not an IPv4 or IPv6 address"],
    ["example.com/8", "not an IPv4 or IPv6 address"],
    ["", "empty"],
  ])("refuses %j (%s)", (text, reason) => {
    expect(parseCidr(text)).toBeNull();
    expect(validateCidr(text)).toContain(reason);
  });

  it("refuses host bits in validation and suggests the network", () => {
    expect(validateCidr("10.0.0.1/8")).toContain("did you mean 10.0.0.0/8");
    expect(validateCidr("2001:db8::1/32")).toContain("did you mean 2001:db8::/32");
    expect(validateCidr("::ffff:10.0.0.1/104")).toContain("did you mean 10.0.0.0/8");
  });
});

describe("ipAllowed", () => {
  it("allows anything with an empty list, even an unknown address", () => {
    expect(ipAllowed("1.2.3.4", [])).toBe(true);
    expect(ipAllowed(null, [])).toBe(true);
  });

  it("needs a known address inside some valid block otherwise", () => {
    const list = ["10.0.0.0/8", "2001:db8::/32", "garbage"];
    expect(ipAllowed("10.1.1.1", list)).toBe(true);
    expect(ipAllowed("::ffff:10.1.1.1", list)).toBe(true);
    expect(ipAllowed("2001:db8::5", list)).toBe(true);
    expect(ipAllowed("192.168.0.1", list)).toBe(false);
    expect(ipAllowed(null, list)).toBe(false);
    expect(ipAllowed("garbage", list)).toBe(false);
    expect(ipAllowed("1.2.3.4", ["garbage"])).toBe(false);
  });
});
