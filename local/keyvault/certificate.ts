import { generateKeyPair } from "node:crypto";
import { createRequire } from "node:module";
import { promisify } from "node:util";

/** A self-signed TLS certificate for the emulator, valid for 127.0.0.1 and localhost. */
export interface EmulatorCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

interface SelfsignedModule {
  generate(
    attrs: { name: string; value: string }[],
    options: { days: number; algorithm: string; keyPair: { publicKey: string; privateKey: string }; extensions: unknown[] },
  ): { cert: string; private: string };
}

const require = createRequire(import.meta.url);
const generateKeyPairAsync = promisify(generateKeyPair);

export async function createEmulatorCertificate(): Promise<EmulatorCertificate> {
  // selfsigned makes its RSA key in JavaScript (slow); hand it one made natively instead.
  const { publicKey, privateKey } = await generateKeyPairAsync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  const selfsigned = require("selfsigned") as SelfsignedModule;
  const pems = selfsigned.generate([{ name: "commonName", value: "palisade-keyvault-emulator" }], {
    days: 30,
    algorithm: "sha256",
    keyPair: { publicKey, privateKey },
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", keyCertSign: true, digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 7, ip: "127.0.0.1" },
          { type: 2, value: "localhost" },
        ],
      },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private };
}
