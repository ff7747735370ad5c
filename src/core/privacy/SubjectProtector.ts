import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";
import { type Clock } from "../clock.js";
import { type SubjectKeyStore, type SubjectKeyStoreOptions } from "./SubjectKeyStore.js";

export interface SubjectProtectorDeps {
  /** At least 32 bytes; derived from the audit digest key (Key Vault), see `subjectPepperFrom`. */
  readonly pepper: Uint8Array;
  readonly keys: SubjectKeyStore;
  readonly random: (bytes: number) => Uint8Array;
  /** With a clock, subject keys are cached for `keyCacheTtlInMs` (one Table read per subject per TTL). */
  readonly clock?: Clock;
  readonly keyCacheTtlInMs?: number;
  readonly maxCachedKeys?: number;
}

export interface ProtectedSubject {
  /** Stable per subject while its key exists; derived from that key, so it dies with it. */
  readonly pseudonym: string;
  /** The value for the audit event's `subject` field: `<pseudonym>:<base64url(iv ‖ ciphertext ‖ tag)>`. */
  readonly value: string;
}

/** What a data-subject request needs to find and read one subject's events. */
export interface SubjectOpener {
  readonly keyRef: string;
  readonly pseudonym: string;
  /** The subject id in a `subject` field, or null when it is not this subject's (or does not decrypt). */
  reveal(value: string): string | null;
}

const SUBJECT_REF_INFO = "palisade/subject-ref/v1";
const SUBJECT_KEK_INFO = "palisade/subject-kek/v1";
const PSEUDONYM_INFO = "palisade/subject-pseudonym/v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The pepper for subject pseudonyms, derived from the audit digest key so one Key Vault secret serves both. */
export function subjectPepperFrom(digestKey: Uint8Array): Buffer {
  return createHmac("sha256", digestKey).update("palisade/subject-pepper/v1").digest();
}

function seal(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: string): string {
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString("base64url");
}

function open(key: Uint8Array, sealed: string, aad: string): Buffer | null {
  const bytes = Buffer.from(sealed, "base64url");
  if (bytes.length < IV_BYTES + TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(aad, "utf8"));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return null;
  }
}

/** Splits a `subject` field into its pseudonym and sealed part; null when it is not one. */
export function parseSubjectValue(value: string): { pseudonym: string; sealed: string } | null {
  const match = /^([0-9a-f]{32}):([A-Za-z0-9_-]+)$/.exec(value);
  return match === null ? null : { pseudonym: match[1] ?? "", sealed: match[2] ?? "" };
}

/**
 * Pseudonymises and encrypts end-user identifiers for audit events, under a key per subject.
 *
 * - keyRef = HMAC-SHA256(pepper, id): where the subject's key is stored. It appears in DSR events and
 *   the key table, never in request events.
 * - the subject key: 32 random bytes, stored wrapped (AES-256-GCM under HMAC(pepper, "kek"), bound to
 *   the keyRef).
 * - pseudonym = HMAC-SHA256(subject key, info), 128 bits: what events are searched by. Because it
 *   derives from the subject key, destroying the key also unlinks the events from the subject.
 * - the value: AES-256-GCM(subject key, random IV, id), with the pseudonym as associated data.
 */
export class SubjectProtector {
  private readonly kek: Buffer;
  private readonly cache = new Map<string, { key: Buffer; untilInMs: number }>();

  constructor(private readonly deps: SubjectProtectorDeps) {
    if (deps.pepper.length < 32) throw new RangeError("the subject pepper must be at least 32 bytes");
    this.kek = createHmac("sha256", deps.pepper).update(SUBJECT_KEK_INFO).digest();
  }

  keyRefOf(subjectId: string): string {
    return createHmac("sha256", this.deps.pepper).update(SUBJECT_REF_INFO).update("\u0000").update(subjectId, "utf8").digest("hex");
  }

  /** The `subject` field for an event about this subject; creates the subject's key on first use. */
  async protect(subjectId: string, options: SubjectKeyStoreOptions = {}): Promise<ProtectedSubject> {
    const keyRef = this.keyRefOf(subjectId);
    let key = this.cached(keyRef);
    if (key === null) {
      const fresh = Buffer.from(this.deps.random(32));
      const stored = await this.deps.keys.getOrCreate(keyRef, seal(this.kek, this.deps.random(IV_BYTES), fresh, keyRef), options);
      key = this.unwrap(keyRef, stored);
      this.remember(keyRef, key);
    }
    const pseudonym = pseudonymOf(key);
    return { pseudonym, value: `${pseudonym}:${seal(key, this.deps.random(IV_BYTES), Buffer.from(subjectId, "utf8"), pseudonym)}` };
  }

  /** What a DSR needs to find and read this subject's events; null when the subject has no key (never seen, or erased). */
  async openerFor(subjectId: string, options: SubjectKeyStoreOptions = {}): Promise<SubjectOpener | null> {
    const keyRef = this.keyRefOf(subjectId);
    const stored = await this.deps.keys.get(keyRef, options);
    if (stored === null) return null;
    const key = this.unwrap(keyRef, stored);
    const pseudonym = pseudonymOf(key);
    return {
      keyRef,
      pseudonym,
      reveal: (value) => {
        const parsed = parseSubjectValue(value);
        if (parsed === null || parsed.pseudonym !== pseudonym) return null;
        return open(key, parsed.sealed, pseudonym)?.toString("utf8") ?? null;
      },
    };
  }

  /** Crypto-shredding: destroys the subject's key. true when there was one. */
  async destroy(subjectId: string, options: SubjectKeyStoreOptions = {}): Promise<boolean> {
    const keyRef = this.keyRefOf(subjectId);
    this.cache.delete(keyRef);
    return this.deps.keys.delete(keyRef, options);
  }

  private unwrap(keyRef: string, wrapped: string): Buffer {
    const key = open(this.kek, wrapped, keyRef);
    // Another pepper, or a row moved between subjects: refuse rather than encrypt under the wrong key.
    if (key?.length !== 32) throw new Error("a subject key could not be unwrapped (wrong pepper, or a tampered SubjectKeys row)");
    return key;
  }

  private cached(keyRef: string): Buffer | null {
    const clock = this.deps.clock;
    if (clock === undefined) return null;
    const hit = this.cache.get(keyRef);
    if (hit === undefined || hit.untilInMs <= clock.nowInMs()) return null;
    return hit.key;
  }

  private remember(keyRef: string, key: Buffer): void {
    const clock = this.deps.clock;
    if (clock === undefined) return;
    if (this.cache.size >= (this.deps.maxCachedKeys ?? 10_000)) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.set(keyRef, { key, untilInMs: clock.nowInMs() + (this.deps.keyCacheTtlInMs ?? 60_000) });
  }
}

function pseudonymOf(key: Uint8Array): string {
  return createHmac("sha256", key).update(PSEUDONYM_INFO).digest("hex").slice(0, 32);
}
