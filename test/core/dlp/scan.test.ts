import { describe, expect, it } from "vitest";
import { type EntityType, scan, scanOptionsFromPolicy } from "../../../src/core/dlp/index.js";
import { parsePolicy } from "../../../src/core/policy/parsePolicy.js";
import { detectAssignments } from "../../../src/core/dlp/secrets/detectAssignments.js";
import { type Candidate } from "../../../src/core/dlp/types.js";

function found(text: string, type?: EntityType): string[] {
  return scan(text)
    .filter((f) => type === undefined || f.type === type)
    .map((f) => text.slice(f.start, f.end));
}

describe("scan: credit cards", () => {
  it("finds major brands including Mastercard 2-series and 19-digit cards, with any separator", () => {
    expect(found("card 4111 1111 1111 1111", "CREDIT_CARD")).toEqual(["4111 1111 1111 1111"]);
    expect(found("mc 2223-0031-2200-3222", "CREDIT_CARD")).toEqual(["2223-0031-2200-3222"]);
    expect(found("amex 3782 822463 10005", "CREDIT_CARD")).toEqual(["3782 822463 10005"]);
    expect(found("unionpay 6205500000000000004 ok", "CREDIT_CARD")).toEqual(["6205500000000000004"]);
    expect(found("visa 4111.1111.1111.1111", "CREDIT_CARD")).toEqual(["4111.1111.1111.1111"]);
  });
  it("rejects Luhn-invalid numbers, unknown prefixes, mixed separators and longer runs", () => {
    expect(found("card 4111 1111 1111 1112")).toEqual([]);
    expect(found("card 1234 5678 9012 3452")).toEqual([]);
    expect(found("card 4111-1111 1111.1111")).toEqual([]);
    expect(found("id 41111111111111110000")).toEqual([]);
  });
  it("scores context: a nearby card word raises the score, an order word lowers it", () => {
    const [withContext] = scan("credit card 4111111111111111");
    const [plain] = scan("value 4111111111111111");
    expect(withContext?.score).toBeGreaterThan(plain?.score ?? 1);
    expect(scan("order #4111111111111111")).toEqual([]);
  });
});

describe("scan: US SSN", () => {
  it("finds delimited forms and bare digits only with context", () => {
    expect(found("SSN 536-22-8726", "US_SSN")).toEqual(["536-22-8726"]);
    expect(found("ssn: 536228726", "US_SSN")).toEqual(["536228726"]);
    expect(found("ticket 536228726")).toEqual([]);
  });
  it("rejects invalid areas, groups and serials", () => {
    for (const bad of ["000-12-3456", "666-12-3456", "912-12-3456", "536-00-1234", "536-22-0000"]) expect(found(`SSN ${bad}`, "US_SSN")).toEqual([]);
  });
});

describe("scan: IBAN", () => {
  it("validates format, length and mod-97, spaced or not, either case", () => {
    expect(found("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN_CODE")).toEqual(["DE89 3704 0044 0532 0130 00"]);
    expect(found("to gb82west12345698765432.", "IBAN_CODE")).toEqual(["gb82west12345698765432"]);
    expect(found("IBAN DE89 3704 0044 0532 0130 01")).toEqual([]);
    expect(found("IBAN GB82WEST1234569876543")).toEqual([]);
  });
});

describe("scan: email, phone, IP", () => {
  it("finds email addresses but not file names or handles", () => {
    expect(found("mail first.last+tag@example.co.uk.", "EMAIL_ADDRESS")).toEqual(["first.last+tag@example.co.uk"]);
    expect(found("logo@2x.png and @channel and user@localhost")).toEqual([]);
  });
  it("finds international and national phone numbers for the configured regions", () => {
    expect(found("Call (202) 555-0143 now", "PHONE_NUMBER")).toEqual(["(202) 555-0143"]);
    expect(found("Tel +44 20 7946 0958", "PHONE_NUMBER")).toEqual(["+44 20 7946 0958"]);
    expect(found("Tel 030 901820", "PHONE_NUMBER")).toEqual(["030 901820"]);
    expect(scan("Tel 030 901820", { phoneRegions: ["US"] })).toEqual([]);
  });
  it("does not take dates, times, versions or ids for phone numbers", () => {
    expect(found("on 2024-01-15 at 10:30:00, version 1.2.3.4.5, build 20240115, ZIP 94043-1351, order 112-4567890-1234567")).toEqual([]);
  });
  it("finds valid IPv4 and IPv6 addresses only", () => {
    expect(found("from 192.0.2.1 and 2001:db8::8a2e:370:7334.", "IP_ADDRESS")).toEqual(["192.0.2.1", "2001:db8::8a2e:370:7334"]);
    expect(found("256.1.1.1, 10:30:45, 00:1A:2B:3C:4D:5E, std::vector, 1.3.6.1.4.1.311")).toEqual([]);
  });
});

describe("scan: secrets", () => {
  const cases: [string, string][] = [
    ["OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0f", "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0f"],
    ["id AKIAZ7QDTR3VX5KWPM2L", "AKIAZ7QDTR3VX5KWPM2L"],
    ["token ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6", "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"],
    ["xoxb-204811111111-3333333333333-AbCdEfGhIjKlMnOpQrStUvWx", "xoxb-204811111111-3333333333333-AbCdEfGhIjKlMnOpQrStUvWx"],
    ["?sv=2022-11-02&sig=AbCdEfGh1234567890AbCdEf%2BGh%3D", "AbCdEfGh1234567890AbCdEf%2BGh%3D"],
    ['password = "Tr0ub4dor&3x"', "Tr0ub4dor&3x"],
  ];
  it.each(cases)("finds the secret in %s", (text, value) => {
    expect(found(text, "API_KEY")).toEqual([value]);
  });
  it("finds JWTs whose header decodes to JSON with alg, and PEM private key blocks whole", () => {
    const jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    expect(found(`Bearer ${jwt}`, "API_KEY")).toEqual([jwt]);
    expect(found("eyJhIjoxfQ.eyJhIjoxfQ.abcdefgh")).toEqual([]);
    const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAabc\nQWxhZGRpbjpvcGVu\n-----END RSA PRIVATE KEY-----";
    expect(found(`key:\n${pem}\nthanks`, "API_KEY")).toEqual([pem]);
  });
  it("does not flag hashes, UUIDs, git SHAs, placeholders or references standing alone", () => {
    expect(
      found(
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 uuid 550e8400-e29b-41d4-a716-446655440000 sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 api_key=<YOUR_KEY> token = process.env.TOKEN password: required",
      ),
    ).toEqual([]);
  });
});

describe("scan: evasion", () => {
  it("sees through full-width digits and zero-width characters, and reports original offsets", () => {
    const text = "card ４１１１ １１１１ １１１１ １１１１ and 4\u200B111\u200C1111\u200D1111\uFEFF1111.";
    expect(found(text, "CREDIT_CARD")).toEqual(["４１１１ １１１１ １１１１ １１１１", "4\u200B111\u200C1111\u200D1111\uFEFF1111"]);
  });
  it("maps offsets correctly around astral characters and NFKC expansions", () => {
    const text = "😀㍻ｍａｉｌ ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ 😀";
    expect(found(text, "EMAIL_ADDRESS")).toEqual(["ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ"]);
  });
});

describe("scan: options", () => {
  it("applies threshold, allowlist and entity selection", () => {
    const text = "Support: +1 202-555-0143, card 4111 1111 1111 1111";
    expect(scan(text, { allowlist: ["+1 (202) 555 0143"] }).map((f) => f.type)).toEqual(["CREDIT_CARD"]);
    expect(scan(text, { entities: ["PHONE_NUMBER"] }).map((f) => f.type)).toEqual(["PHONE_NUMBER"]);
    expect(scan(text, { threshold: 1.01 })).toEqual([]);
  });
  it("reads scan options from a project's DLP policy", () => {
    const { policy } = parsePolicy(
      [
        "version: 1",
        "projects:",
        "  - id: demo",
        "    residency: eu",
        "    models: [{ name: gpt, deployment: gpt-4o }]",
        "    dlp: { threshold: 0.7, allowlist: ['+44 20 7946 0000'], phoneRegions: [GB] }",
        "endpoints:",
        "  - { id: e1, provider: azure, baseUrl: 'https://example.openai.azure.com', region: westeurope, residency: eu, class: zdr, deployments: [gpt-4o] }",
      ].join("\n"),
    );
    const dlp = policy.projects[0]!.dlp;
    expect(scanOptionsFromPolicy(dlp)).toEqual({ threshold: 0.7, allowlist: ["+44 20 7946 0000"], phoneRegions: ["GB"] });
  });
});

describe("scan: a value two detectors find", () => {
  it("reports a vendor token assigned to a secret name once, as the rule found it; a value no rule claims is the assignment's", () => {
    const token = "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6";
    const text = `export API_TOKEN=${token}`;
    expect(scan(text)).toEqual([{ type: "API_KEY", start: text.indexOf(token), end: text.length, score: 0.95 }]);
    const plain = "export API_TOKEN=Qm7Xc2Lp9Vt4Rk8Wn3Zs6Hb1";
    expect(scan(plain)).toEqual([{ type: "API_KEY", start: plain.indexOf("Qm7"), end: plain.length, score: 0.75 }]);
  });
  it("the assignment detector skips validating a span an earlier detector found as well, and only that span", () => {
    const text = 'db_password = "Hx7!qPz2#Lm"';
    const start = text.indexOf("Hx7");
    const end = start + "Hx7!qPz2#Lm".length;
    const alone: Candidate[] = [];
    detectAssignments(text, alone);
    expect(alone).toEqual([{ type: "API_KEY", start, end, score: 0.75 }]);
    const afterRule: Candidate[] = [];
    detectAssignments(text, afterRule, (_type, s, e) => (s === start && e === end ? 0.95 : -1));
    expect(afterRule).toEqual([]);
    const weaker: Candidate[] = [];
    detectAssignments(text, weaker, (_type, s, e) => (s === start && e === end ? 0.5 : -1));
    expect(weaker).toHaveLength(1);
  });
  it("the assignment detector classifies each name by the name itself, across more names than it keeps", () => {
    // Names are kept by a hash of their characters, compared in place, and forgotten past 4 096: every one must still
    // be told apart from the names around it ("..._password" is a secret's name, "..._path" is not).
    const value = "Hx7!qPz2#Lm";
    for (let i = 0; i < 9000; i += 1) {
      const name = i % 2 === 0 ? `svc${i}_password` : `svc${i - 1}_path`;
      const text = `${name} = "${value}"`;
      const found: Candidate[] = [];
      detectAssignments(text, found);
      expect(found.length, name).toBe(i % 2 === 0 ? 1 : 0);
    }
    // "wd" and "xE" add the same to a hash of the form sum(code * 31^k): the names must be compared, not only their hashes.
    for (const [name, secret] of [["passwd", true], ["passxE", false], ["passwd", true]] as const) {
      const found: Candidate[] = [];
      detectAssignments(`${name} = "${value}"`, found);
      expect(found.length, name).toBe(secret ? 1 : 0);
    }
  });
});
