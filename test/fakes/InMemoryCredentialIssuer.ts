import { randomBytes } from "node:crypto";
import type {
  CredentialIssuer,
  IssuedKeyRef,
  MintContext,
  MintedCredential,
} from "../../src/core/rotation/CredentialIssuer.js";
import type { IssuerKind, ManagedCredential } from "../../src/core/rotation/managedCredential.js";

export interface InMemoryCredentialIssuerOptions {
  readonly kind?: IssuerKind;
  /** Model Azure OpenAI: two slots, mint regenerates the one not in use, revoke regenerates it again. */
  readonly slots?: readonly string[];
}

/** A CredentialIssuer in memory; passes the same contract as the real issuers. */
export class InMemoryCredentialIssuer implements CredentialIssuer {
  readonly kind: IssuerKind;
  private readonly slots: readonly string[] | null;
  /** issuerKeyId -> live value (a slot name is the issuer key id for slot issuers). */
  private readonly live = new Map<string, string>();
  mints = 0;
  revokes = 0;
  verifies = 0;
  /** Make verify refuse every value (a key the upstream rejects). */
  refuseVerification = false;
  /** Make verify throw (upstream unreachable). */
  verifyUnavailable = false;

  constructor(options: InMemoryCredentialIssuerOptions = {}) {
    this.kind = options.kind ?? "palisade";
    this.slots = options.slots ?? null;
    for (const slot of this.slots ?? []) this.live.set(slot, this.newValue());
  }

  /** The value a slot or key id holds now (tests register it as the first version). */
  valueOf(issuerKeyId: string): string | null {
    return this.live.get(issuerKeyId) ?? null;
  }

  isLive(value: string): boolean {
    return [...this.live.values()].includes(value);
  }

  async mint(_credential: ManagedCredential, context: MintContext): Promise<MintedCredential> {
    this.mints += 1;
    const value = this.newValue();
    if (this.slots !== null) {
      const slot = this.slots.find((candidate) => !context.slotsInUse.includes(candidate));
      if (slot === undefined) throw new Error("every slot is in use");
      this.live.set(slot, value);
      return { value, issuerKeyId: slot, slot };
    }
    const issuerKeyId = `key-${randomBytes(6).toString("hex")}`;
    this.live.set(issuerKeyId, value);
    return { value, issuerKeyId, slot: null };
  }

  async verify(_credential: ManagedCredential, value: string): Promise<boolean> {
    this.verifies += 1;
    if (this.verifyUnavailable) throw new Error("issuer unavailable");
    if (this.refuseVerification) return false;
    return this.isLive(value);
  }

  async revoke(_credential: ManagedCredential, key: IssuedKeyRef): Promise<void> {
    this.revokes += 1;
    if (this.slots !== null) {
      const slot = key.slot ?? key.issuerKeyId;
      if (this.slots.includes(slot)) this.live.set(slot, this.newValue()); // regenerating is how a slot is revoked
      return;
    }
    this.live.delete(key.issuerKeyId);
  }

  private newValue(): string {
    return `mem-${randomBytes(12).toString("hex")}`;
  }
}
