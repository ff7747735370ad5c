import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createEmulatorCertificate } from "./certificate.js";
import { CHALLENGE_HEADER, hasBearerToken } from "./challenge.js";
import { type VaultRequest, type VaultResponse, vaultError } from "./http.js";
import { KeysHandler } from "./keys.js";
import { SecretsHandler } from "./secrets.js";
import { OperationTally } from "../operationTally.js";
import { listenOn } from "../listenOn.js";

export interface KeyVaultEmulatorOptions {
  /** 0 or absent: a free port. */
  readonly port?: number;
  /** Interface to listen on; 127.0.0.1 unless told. */
  readonly host?: string;
  /** Where to write the CA certificate; a fresh temp dir (removed on stop) unless told. */
  readonly certDir?: string;
}

export interface RunningKeyVaultEmulator {
  /** https://127.0.0.1:PORT — pass it to SecretClient / KeyClient as the vault URL. */
  readonly vaultUrl: string;
  /** The self-signed certificate the server presents; trust it per client (keyVaultClientOptions). */
  readonly caCertPem: string;
  /** The same PEM on disk (AZURE_KEYVAULT_CA_CERT). */
  readonly caCertPath: string;
  stop(): Promise<void>;
  /** Requests served since start, by kind (`secrets.GET`, `keys.POST`, ...): Key Vault operations on the bill. */
  operations(): Readonly<Record<string, number>>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const CA_FILE_NAME = "keyvault-emulator-ca.pem";

export async function startKeyVaultEmulator(options: KeyVaultEmulatorOptions = {}): Promise<RunningKeyVaultEmulator> {
  const host = options.host ?? "127.0.0.1";
  const certificate = await createEmulatorCertificate();
  const ownsCertDir = options.certDir === undefined;
  const certDir = options.certDir ?? (await mkdtemp(join(tmpdir(), "palisade-keyvault-")));
  const caCertPath = join(certDir, CA_FILE_NAME);
  await writeFile(caCertPath, certificate.certPem, { mode: 0o644 });

  const secrets = new SecretsHandler(() => Date.now());
  const keys = new KeysHandler(() => Date.now());
  let vaultUrl = "";
  const tally = new OperationTally();

  const route = (request: VaultRequest, collection: string): VaultResponse => {
    tally.count(`${collection}.${request.method}`);
    switch (collection) {
      case "secrets":
        return secrets.handleSecrets(request);
      case "deletedsecrets":
        return secrets.handleDeletedSecrets(request);
      case "keys":
        return keys.handleKeys(request);
      default:
        return vaultError(404, "NotFound", `The emulator does not serve /${collection}: only secrets, deletedsecrets and keys.`);
    }
  };

  const server = createServer({ cert: certificate.certPem, key: certificate.keyPem }, (req, res) => {
    // Every HTTPS request, the SDK's unauthenticated challenge included.
    tally.count("requests");
    void handle(req, res, vaultUrl, route);
  });
  // A client that drops a TLS handshake must not take the emulator down.
  server.on("tlsClientError", () => undefined);

  let port: number;
  try {
    port = await listenOn(server, options.port ?? 0, host);
  } catch (error) {
    if (ownsCertDir) await rm(certDir, { recursive: true, force: true });
    throw error;
  }
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  vaultUrl = `https://${urlHost}:${port}`;

  let stopped: Promise<void> | undefined;
  return {
    vaultUrl,
    caCertPem: certificate.certPem,
    caCertPath,
    operations: () => tally.snapshot(),
    stop() {
      stopped ??= closeServer(server).then(async () => {
        if (ownsCertDir) await rm(certDir, { recursive: true, force: true });
      });
      return stopped;
    },
  };
}

async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Clients keep TLS sockets alive; close them so the process can exit.
  server.closeAllConnections();
  await closed;
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  vaultUrl: string,
  route: (request: VaultRequest, collection: string) => VaultResponse,
): Promise<void> {
  let response: VaultResponse;
  try {
    const raw = await readBody(req);
    if (raw === null) {
      response = vaultError(413, "RequestTooLarge", "The request body is larger than 1 MB.");
    } else if (!hasBearerToken(req.headers.authorization)) {
      send(res, vaultError(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token."), { "www-authenticate": CHALLENGE_HEADER });
      return;
    } else {
      response = dispatch(req, raw, vaultUrl, route);
    }
  } catch {
    response = vaultError(500, "InternalError", "The emulator failed to handle the request.");
  }
  send(res, response, {});
}

function dispatch(
  req: IncomingMessage,
  raw: string,
  vaultUrl: string,
  route: (request: VaultRequest, collection: string) => VaultResponse,
): VaultResponse {
  const url = new URL(req.url ?? "/", vaultUrl);
  if (!url.searchParams.has("api-version")) {
    return vaultError(400, "BadParameter", "The api-version query parameter is required.");
  }
  let body: unknown = undefined;
  if (raw.trim() !== "") {
    try {
      body = JSON.parse(raw);
    } catch {
      return vaultError(400, "BadParameter", "The request body is not valid JSON.");
    }
  }
  const [collection = "", ...segments] = url.pathname.split("/").slice(1).map((s) => decodeURIComponent(s));
  return route({ method: req.method ?? "GET", segments, query: url.searchParams, body, vaultUrl }, collection);
}

/** The body as text, or null when it exceeds the limit. */
async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(buffer);
  }
  return tooLarge ? null : Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, response: VaultResponse, headers: Record<string, string>): void {
  const requestId = randomUUID();
  if (response.body === undefined) {
    res.writeHead(response.status, { ...headers, "x-ms-request-id": requestId, "content-length": "0" });
    res.end();
    return;
  }
  const payload = JSON.stringify(response.body);
  res.writeHead(response.status, {
    ...headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(payload)),
    "x-ms-request-id": requestId,
  });
  res.end(payload);
}
