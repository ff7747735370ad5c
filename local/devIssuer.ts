import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import { listenOn } from "./listenOn.js";

/**
 * A stand-in for Microsoft Entra ID's token issuer on the local stack: an ES256 key pair kept in the
 * state directory, its public half served as a JWKS, so `palisade dev token` can sign access tokens
 * that the app verifies exactly as it verifies Entra's (issuer, audience, algorithm, expiry).
 * config/policy.sample.yaml's `entra` section points at it. Never for anything but local trials.
 */

export const DEV_AUDIENCE = "api://palisade";

/** What `palisade dev token` reads (PALISADE_DEV_ISSUER_KEY): the private key and the claims to sign for. */
export interface DevIssuerKeyFile {
  readonly issuer: string;
  readonly audience: string;
  readonly privateJwk: JWK;
}

export interface RunningDevIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  /** The key file (owner-only) `palisade dev token` signs with. */
  readonly keyPath: string;
  stop(): Promise<void>;
}

async function loadOrCreateKey(keyPath: string): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  if (existsSync(keyPath)) {
    const stored = JSON.parse(await readFile(keyPath, "utf8")) as DevIssuerKeyFile;
    const { d: _private, ...publicJwk } = stored.privateJwk;
    return { privateJwk: stored.privateJwk, publicJwk };
  }
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = `dev-${Date.now().toString(36)}`;
  return { privateJwk: { ...(await exportJWK(privateKey)), kid, alg: "ES256", use: "sig" }, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" } };
}

export async function startDevIssuer(options: { readonly stateDirectory: string; readonly port?: number }): Promise<RunningDevIssuer> {
  const keyPath = join(options.stateDirectory, "dev-issuer-key.json");
  const { privateJwk, publicJwk } = await loadOrCreateKey(keyPath);
  const server = createServer((request, response) => {
    if (request.method === "GET" && request.url === "/.well-known/jwks.json") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ keys: [publicJwk] }));
      return;
    }
    response.writeHead(404, { "content-type": "application/json" });
    response.end('{"error":"not_found"}');
  });
  server.on("clientError", (_error, socket) => socket.destroy());
  const port = await listenOn(server, options.port ?? 0, "127.0.0.1");
  const base = `http://127.0.0.1:${port}`;
  const issuer = `${base}/palisade-dev`;
  const file: DevIssuerKeyFile = { issuer, audience: DEV_AUDIENCE, privateJwk };
  await writeFile(keyPath, `${JSON.stringify(file)}\n`, { mode: 0o600 });
  return {
    issuer,
    jwksUri: `${base}/.well-known/jwks.json`,
    keyPath,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
