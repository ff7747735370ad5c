import { describe, expect, it } from "vitest";
import { createSasToken, verifySasToken } from "../../../local/servicebus/sas.js";

const key = { keyName: "RootManageSharedAccessKey", key: "k3y" };
const now = 1_700_000_000_000;
const resource = "sb://127.0.0.1:5672/queue";

describe("verifySasToken", () => {
  it("accepts a token made with the key, and reports its resource and expiry", () => {
    const verdict = verifySasToken(createSasToken(key, resource, now + 60_000), key, now);
    expect(verdict).toEqual({ ok: true, resource, expiresAtMs: Math.floor((now + 60_000) / 1000) * 1000 });
  });

  it("accepts the SDK's format: url-encoded resource and signature", () => {
    const token = createSasToken(key, resource, now + 60_000);
    expect(token).toMatch(/^SharedAccessSignature sr=sb%3A%2F%2F127\.0\.0\.1%3A5672%2Fqueue&sig=[^&]+&se=\d+&skn=RootManageSharedAccessKey$/);
  });

  it("refuses a wrong key, an unknown key name, an expired token, a changed resource and garbage", () => {
    const good = createSasToken(key, resource, now + 60_000);
    expect(verifySasToken(createSasToken({ ...key, key: "other" }, resource, now + 60_000), key, now).ok).toBe(false);
    expect(verifySasToken(createSasToken({ ...key, keyName: "other" }, resource, now + 60_000), key, now).ok).toBe(false);
    expect(verifySasToken(createSasToken(key, resource, now - 1_000), key, now).ok).toBe(false);
    expect(verifySasToken(good.replace("queue", "other"), key, now).ok).toBe(false);
    expect(verifySasToken(good.replace(/se=\d+/, `se=${Math.floor(now / 1000) + 7200}`), key, now).ok).toBe(false);
    expect(verifySasToken("Bearer abc", key, now).ok).toBe(false);
    expect(verifySasToken("SharedAccessSignature sr=%E0%A4%A&sig=x&se=1&skn=a", key, now).ok).toBe(false);
  });
});
