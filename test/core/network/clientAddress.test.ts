import { describe, expect, it } from "vitest";
import { clientAddress } from "../../../src/core/network/clientAddress.js";

describe("clientAddress", () => {
  it("uses the socket address with 0 hops and ignores x-forwarded-for (cannot be spoofed)", () => {
    expect(clientAddress({ remoteAddress: "203.0.113.9", forwardedFor: "10.0.0.1", trustedProxyHops: 0 })).toBe("203.0.113.9");
    expect(clientAddress({ remoteAddress: "::ffff:203.0.113.9", forwardedFor: undefined, trustedProxyHops: 0 })).toBe("203.0.113.9");
    expect(clientAddress({ remoteAddress: "2001:DB8::0001", forwardedFor: undefined, trustedProxyHops: 0 })).toBe("2001:db8::1");
    expect(clientAddress({ remoteAddress: null, forwardedFor: "10.0.0.1", trustedProxyHops: 0 })).toBeNull();
  });

  it("with 1 hop takes the rightmost entry, not the caller-controlled leftmost", () => {
    // The caller sent "x-forwarded-for: 10.0.0.1"; the one trusted proxy appended the real peer.
    expect(clientAddress({ remoteAddress: "172.16.0.4", forwardedFor: "10.0.0.1, 198.51.100.7", trustedProxyHops: 1 })).toBe("198.51.100.7");
    expect(clientAddress({ remoteAddress: "172.16.0.4", forwardedFor: "198.51.100.7", trustedProxyHops: 1 })).toBe("198.51.100.7");
  });

  it("with 2 hops takes the second entry from the right", () => {
    const forwardedFor = "10.0.0.1, 10.0.0.2, 198.51.100.7, 172.16.0.9";
    expect(clientAddress({ remoteAddress: "172.16.0.10", forwardedFor, trustedProxyHops: 2 })).toBe("198.51.100.7");
    expect(clientAddress({ remoteAddress: "172.16.0.10", forwardedFor: "198.51.100.7,172.16.0.9", trustedProxyHops: 2 })).toBe("198.51.100.7");
  });

  it("strips ports and brackets that proxies add, and unmaps IPv4-mapped entries", () => {
    expect(clientAddress({ remoteAddress: null, forwardedFor: "198.51.100.7:53211", trustedProxyHops: 1 })).toBe("198.51.100.7");
    expect(clientAddress({ remoteAddress: null, forwardedFor: "[2001:db8::7]:443", trustedProxyHops: 1 })).toBe("2001:db8::7");
    expect(clientAddress({ remoteAddress: null, forwardedFor: "::ffff:198.51.100.7", trustedProxyHops: 1 })).toBe("198.51.100.7");
  });

  it("is unknown (null) when the header is missing, too short, or the trusted entry is not an address", () => {
    expect(clientAddress({ remoteAddress: "172.16.0.4", forwardedFor: undefined, trustedProxyHops: 1 })).toBeNull();
    expect(clientAddress({ remoteAddress: "172.16.0.4", forwardedFor: "198.51.100.7", trustedProxyHops: 2 })).toBeNull();
    expect(clientAddress({ remoteAddress: "172.16.0.4", forwardedFor: "10.0.0.1, unknown", trustedProxyHops: 1 })).toBeNull();
    expect(clientAddress({ remoteAddress: "172.16.0.4", forwardedFor: "10.0.0.1, ", trustedProxyHops: 1 })).toBeNull();
    expect(clientAddress({ remoteAddress: "172.16.0.4", forwardedFor: "10.0.0.1", trustedProxyHops: -1 })).toBeNull();
  });
});
