import { Buffer } from "node:buffer";
import { pemBlockEnd } from "../pemBlockEnd.js";
import { type SecretRule } from "../SecretRule.js";
import { sampleToken } from "./sampleToken.js";

const pemBody = Array.from({ length: 4 }, (_, i) => sampleToken(500 + i, "base64", 64)).join("\n");
const pgpBody = Array.from({ length: 4 }, (_, i) => sampleToken(510 + i, "base64", 64)).join("\n");
const jwtHeader = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString("base64url");
const jwtPayload = Buffer.from('{"sub":"1234567890","name":"Ana","iat":1516239022}').toString("base64url");
const jwt = `${jwtHeader}.${jwtPayload}.${sampleToken(520, "url", 43)}`;

function jwtHeaderHasAlg(token: string): boolean {
  const header = token.slice(0, token.indexOf("."));
  try {
    const decoded: unknown = JSON.parse(Buffer.from(header, "base64url").toString("utf8"));
    return typeof decoded === "object" && decoded !== null && typeof (decoded as { alg?: unknown }).alg === "string";
  } catch {
    return false;
  }
}

export const keyRules: readonly SecretRule[] = [
  {
    id: "private-key",
    description: "PEM private keys (RSA, EC, DSA, OPENSSH, ENCRYPTED, PKCS#8) and PGP private key blocks: the whole block, or header and key lines when the END line is missing",
    keywords: ["-----BEGIN "],
    // The end of the block is found by `pemBlockEnd` (the END line, or the last base64 line).
    pattern: /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----/y,
    extendTo: (text, matchEnd, match) => pemBlockEnd(text, matchEnd, match[1] ?? "", match[2] ?? ""),
    score: 1,
    wraps: false,
    samples: {
      found: [
        { text: `key.pem:\n-----BEGIN RSA PRIVATE KEY-----\n${pemBody}\n-----END RSA PRIVATE KEY-----\n`, secret: pemBody.slice(0, 64) },
        { text: `-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n${pgpBody}\n=Xy7Q\n-----END PGP PRIVATE KEY BLOCK-----`, secret: pgpBody.slice(0, 64) },
        { text: `-----BEGIN OPENSSH PRIVATE KEY-----\n${pemBody}`, secret: pemBody.slice(0, 64) },
      ],
      ignored: ["-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----", "-----BEGIN PGP PUBLIC KEY BLOCK-----"],
    },
  },
  {
    id: "jwt",
    description: "JSON Web Token (its header decodes to JSON with an alg)",
    keywords: ["eyJ"],
    pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/y,
    validate: (secret) => jwtHeaderHasAlg(secret),
    score: 0.9,
    samples: {
      found: [{ text: `Authorization: ${jwt}`, secret: jwt }],
      ignored: ["eyJhbGciOiJub3RqdXN0.eyJ4Ijox.sig is not base64 json", "eyJ is how base64 JSON starts"],
    },
  },
  {
    id: "curl-auth-header",
    description: "Bearer, Token and Basic credentials in an Authorization header or a curl command (any length)",
    keywords: ["Bearer ", "bearer ", "BEARER ", "Basic ", "Token "],
    pattern: /(?<![A-Za-z])(?:[Bb]earer|BEARER|Token|Basic) +([A-Za-z0-9\-._~+/]{16,}=*)/y,
    secretGroups: [1],
    validate: (secret) => /\d/.test(secret) || /[A-Z]/.test(secret.slice(1)),
    score: 0.8,
    samples: {
      found: [
        { text: `curl -H "Authorization: Bearer ${sampleToken(530, "url", 300)}" https://api.example.com`, secret: sampleToken(530, "url", 300) },
        { text: `Authorization: Basic ${Buffer.from("alice:S3cure!Pass").toString("base64")}`, secret: Buffer.from("alice:S3cure!Pass").toString("base64") },
      ],
      ignored: ["Authorization: Bearer <token>", "use a bearer token for authentication", "Authorization: Bearer $TOKEN"],
    },
  },
];
