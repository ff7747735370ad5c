import { describe, expect, it } from "vitest";
import { countByType, redact, Redactor, scan } from "../../../src/core/dlp/index.js";

describe("redact", () => {
  it("replaces each finding with a numbered placeholder and counts by type", () => {
    const text = "Card 4111 1111 1111 1111, mail a@example.com, card again 4111111111111111, other 5555555555554444";
    const result = redact(text, scan(text));
    expect(result.text).toBe("Card [CREDIT_CARD_1], mail [EMAIL_ADDRESS_1], card again [CREDIT_CARD_1], other [CREDIT_CARD_2]");
    expect(result.counts).toEqual({ CREDIT_CARD: 3, EMAIL_ADDRESS: 1 });
  });

  it("removes exactly the original characters of an obfuscated value", () => {
    const text = "x ４\u200B１１１ １１１１ １１１１ １１１１ y";
    expect(redact(text, scan(text)).text).toBe("x [CREDIT_CARD_1] y");
  });

  it("leaves text without findings unchanged", () => {
    expect(redact("nothing here", []).text).toBe("nothing here");
  });
});

describe("Redactor", () => {
  it("keeps placeholders stable across the messages of one request", () => {
    const redactor = new Redactor();
    const first = "my email is Jane@Example.com";
    const second = "again: jane@example.com, and bob@example.com";
    expect(redactor.redact(first, scan(first)).text).toBe("my email is [EMAIL_ADDRESS_1]");
    expect(redactor.redact(second, scan(second)).text).toBe("again: [EMAIL_ADDRESS_1], and [EMAIL_ADDRESS_2]");
    expect(redactor.counts).toEqual({ EMAIL_ADDRESS: 3 });
  });

  it("does not expose values through its own properties", () => {
    const redactor = new Redactor();
    const text = "card 4111111111111111";
    redactor.redact(text, scan(text));
    const visible = JSON.stringify(redactor) + JSON.stringify(Object.getOwnPropertyNames(redactor).map((k) => (redactor as unknown as Record<string, unknown>)[k]));
    expect(visible).not.toContain("4111");
  });

  it("accepts a custom placeholder format", () => {
    const text = "ip 192.0.2.1";
    expect(redact(text, scan(text), { placeholder: (type) => `<${type.toLowerCase()}>` }).text).toBe("ip <ip_address>");
  });
});

describe("countByType", () => {
  it("counts findings per entity type", () => {
    expect(countByType(scan("a@example.com b@example.com 192.0.2.1"))).toEqual({ EMAIL_ADDRESS: 2, IP_ADDRESS: 1 });
  });
});
