import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningKeyVaultEmulator, startKeyVaultEmulator } from "../../../local/keyvault/index.js";
import { keyVaultClientOptions } from "../../../src/adapters/keyvault/keyVaultClientOptions.js";
import { CountingCredential } from "./kvTestClients.js";

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function rawRequest(url: string, ca: string, options: { method?: string; authorization?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? "GET",
        ca,
        agent: false,
        headers: options.authorization === undefined ? {} : { authorization: options.authorization },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("Key Vault emulator: challenge, TLS and lifecycle", () => {
  let emulator: RunningKeyVaultEmulator;
  beforeAll(async () => {
    emulator = await startKeyVaultEmulator();
  });
  afterAll(async () => {
    await emulator.stop();
  });

  it("challenges a request without a bearer token with 401 and Key Vault's WWW-Authenticate header", async () => {
    for (const authorization of [undefined, "Bearer ", "Basic dXNlcjpwYXNz"]) {
      const response = await rawRequest(`${emulator.vaultUrl}/secrets?api-version=7.6`, emulator.caCertPem, { authorization });
      expect(response.status).toBe(401);
      expect(response.headers["www-authenticate"]).toMatch(
        /^Bearer authorization="https:\/\/login\.microsoftonline\.com\/[0-9a-f-]+", resource="https:\/\/vault\.azure\.net"$/,
      );
    }
  });

  it("lets a request with any non-empty bearer token through, and wants an api-version", async () => {
    const listed = await rawRequest(`${emulator.vaultUrl}/secrets?api-version=7.6`, emulator.caCertPem, { authorization: "Bearer anything" });
    expect(listed.status).toBe(200);
    expect(JSON.parse(listed.body)).toEqual({ value: [], nextLink: null });
    const noVersion = await rawRequest(`${emulator.vaultUrl}/secrets`, emulator.caCertPem, { authorization: "Bearer anything" });
    expect(noVersion.status).toBe(400);
    expect(JSON.parse(noVersion.body)).toMatchObject({ error: { code: "BadParameter" } });
  });

  it("presents a certificate for 127.0.0.1 and localhost, written to caCertPath", async () => {
    expect(readFileSync(emulator.caCertPath, "utf8")).toBe(emulator.caCertPem);
    const certificate = new X509Certificate(emulator.caCertPem);
    expect(certificate.subjectAltName).toContain("IP Address:127.0.0.1");
    expect(certificate.subjectAltName).toContain("DNS:localhost");
    const viaLocalhost = emulator.vaultUrl.replace("127.0.0.1", "localhost");
    const response = await rawRequest(`${viaLocalhost}/keys?api-version=7.6`, emulator.caCertPem, { authorization: "Bearer t" });
    expect(response.status).toBe(200);
  });

  it("is trusted only by clients given its CA: a client without it fails the TLS handshake", async () => {
    const credential = new CountingCredential();
    const untrusting = new SecretClient(emulator.vaultUrl, credential, {
      disableChallengeResourceVerification: true,
      retryOptions: { maxRetries: 0 },
    });
    await expect(untrusting.getSecret("anything")).rejects.toThrow(/self[- ]signed|certificate/i);

    const other = await startKeyVaultEmulator();
    try {
      const wrongCa = new SecretClient(emulator.vaultUrl, credential, {
        ...keyVaultClientOptions({ caCertPem: other.caCertPem }),
        retryOptions: { maxRetries: 0 },
      });
      await expect(wrongCa.getSecret("anything")).rejects.toThrow(/self[- ]signed|certificate/i);
    } finally {
      await other.stop();
    }
    expect(credential.calls).toBe(0);

    const trusting = new SecretClient(emulator.vaultUrl, credential, keyVaultClientOptions({ caCertPem: emulator.caCertPem }));
    await trusting.setSecret("trusted", "value");
    expect((await trusting.getSecret("trusted")).value).toBe("value");
  });

  it("keyVaultClientOptions: production defaults without a CA, one shared TLS setting per CA", () => {
    expect(keyVaultClientOptions({})).toEqual({});
    expect(keyVaultClientOptions({ caCertPem: " " })).toEqual({});
    const a = keyVaultClientOptions({ caCertPem: emulator.caCertPem });
    const b = keyVaultClientOptions({ caCertPem: emulator.caCertPem });
    expect(a).toEqual({ disableChallengeResourceVerification: true, tlsOptions: { ca: emulator.caCertPem } });
    // The SDK caches its keep-alive agent per tlsOptions object: the same CA must give the same object.
    expect(a.tlsOptions).toBe(b.tlsOptions);
  });

  it("stops: frees its port and removes the temp dir it made; keeps a certDir it was given", async () => {
    const certDir = mkdtempSync(join(tmpdir(), "kv-cert-test-"));
    try {
      const given = await startKeyVaultEmulator({ certDir });
      expect(dirname(given.caCertPath)).toBe(certDir);
      const client = new SecretClient(given.vaultUrl, new CountingCredential(), {
        ...keyVaultClientOptions({ caCertPem: given.caCertPem }),
        retryOptions: { maxRetries: 0 },
      });
      await client.setSecret("s", "v");
      await given.stop();
      await given.stop();
      expect(existsSync(given.caCertPath)).toBe(true);
      // A fresh connection (no pooled socket) finds nothing listening.
      await expect(rawRequest(`${given.vaultUrl}/secrets?api-version=7.6`, given.caCertPem)).rejects.toMatchObject({ code: "ECONNREFUSED" });

      const temp = await startKeyVaultEmulator();
      await temp.stop();
      expect(existsSync(dirname(temp.caCertPath))).toBe(false);
    } finally {
      rmSync(certDir, { recursive: true, force: true });
    }
  });
});
