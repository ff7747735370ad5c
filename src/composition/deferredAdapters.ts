import { type CheckpointAnchor } from "../core/audit/CheckpointAnchor.js";
import { type CheckpointKeyPins } from "../core/audit/CheckpointKeyPins.js";
import { type CheckpointKeyVersions, type CheckpointSigner } from "../core/audit/CheckpointSigner.js";
import { type SignatureVerifier } from "../core/audit/SignatureVerifier.js";
import { type ContentSafety } from "../core/safety/ContentSafety.js";
import { loadOnce } from "./loadOnce.js";

/**
 * Ports whose adapter (and SDK) loads on the first call. The request path never signs or anchors a
 * checkpoint, and most requests never screen content: their SDKs (Blob Storage, Key Vault keys,
 * Content Safety; some 200 modules) need not stand between a cold instance and its first answer.
 */

export function deferredCheckpointAnchor(load: () => Promise<CheckpointAnchor>): CheckpointAnchor {
  const anchor = loadOnce(load);
  return {
    put: async (checkpoint, options) => (await anchor()).put(checkpoint, options),
    getLatest: async (chainId, options) => (await anchor()).getLatest(chainId, options),
    async *list(chainId, options) {
      yield* (await anchor()).list(chainId, options);
    },
    async *listNotes(chainId, options) {
      yield* (await anchor()).listNotes(chainId, options);
    },
  };
}

export function deferredCheckpointKeyPins(load: () => Promise<CheckpointKeyPins>): CheckpointKeyPins {
  const pins = loadOnce(load);
  return {
    put: async (pin, options) => (await pins()).put(pin, options),
    async *list(options) {
      yield* (await pins()).list(options);
    },
  };
}

type CheckpointKeys = CheckpointSigner & SignatureVerifier & CheckpointKeyVersions;

export function deferredCheckpointKeys(load: () => Promise<CheckpointKeys>): CheckpointKeys {
  const keys = loadOnce(load);
  return {
    sign: async (digest, options) => (await keys()).sign(digest, options),
    verify: async (input) => (await keys()).verify(input),
    currentKeyId: async (options) => (await keys()).currentKeyId(options),
    signWith: async (keyId, digest, options) => (await keys()).signWith(keyId, digest, options),
    publicKey: async (keyId, options) => (await keys()).publicKey(keyId, options),
    createVersion: async (options) => (await keys()).createVersion(options),
    expiresAt: async (keyId, options) => (await keys()).expiresAt(keyId, options),
  };
}

export function deferredContentSafety(load: () => Promise<ContentSafety>): ContentSafety {
  const safety = loadOnce(load);
  return {
    shieldPrompt: async (input, options) => (await safety()).shieldPrompt(input, options),
    analyzeText: async (input, options) => (await safety()).analyzeText(input, options),
  };
}
