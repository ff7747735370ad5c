import { describe, expect, it } from "vitest";
import {
  lockTokenFromBytes,
  lockTokenFromDeliveryTag,
  lockTokenToBytes,
  lockTokenToDeliveryTag,
  newLockToken,
} from "../../../local/servicebus/lockToken.js";

describe("lock tokens", () => {
  it("puts a token in a delivery tag in .NET GUID byte order", () => {
    const token = "00112233-4455-6677-8899-aabbccddeeff";
    expect(lockTokenToDeliveryTag(token).toString("hex")).toBe("33221100554477668899aabbccddeeff");
    expect(lockTokenToBytes(token).toString("hex")).toBe("00112233445566778899aabbccddeeff");
  });

  it("round-trips through tags and uuid bytes", () => {
    for (let i = 0; i < 20; i++) {
      const token = newLockToken();
      expect(lockTokenFromDeliveryTag(lockTokenToDeliveryTag(token))).toBe(token);
      expect(lockTokenFromBytes(lockTokenToBytes(token))).toBe(token);
    }
  });

  it("does not read a tag that is not 16 bytes", () => {
    expect(lockTokenFromDeliveryTag(Buffer.from("0"))).toBeUndefined();
  });
});
