import { type Command } from "commander";
import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { type AuditComponents } from "../../composition/audit.js";
import { SYSTEM_CHAIN_ID } from "../../core/audit/AuditEvent.js";
import { type CheckpointKeyTrust } from "../../core/audit/CheckpointKeyTrust.js";
import { credentialAuditEvent } from "../../core/rotation/credentialAuditEvent.js";

interface TrustCommandHelpers {
  readonly run: <A extends unknown[]>(action: (components: AuditComponents, ...args: A) => Promise<void>) => (...args: A) => Promise<void>;
  readonly out: (text: string) => void;
  readonly json: (value: unknown) => void;
}

const needTrust = (c: AuditComponents): CheckpointKeyTrust => {
  if (c.keyTrust === null) throw new Error("no checkpoint key to pin: set AZURE_KEYVAULT_URL (the vault holding PALISADE_CHECKPOINT_KEY)");
  return c.keyTrust;
};

/** `palisade audit trust` (show and export the pinned keys) and `palisade audit rotate-key` (the only way a new version gets pinned). */
export function addAuditTrustCommands(audit: Command, { run, out, json }: TrustCommandHelpers): void {
  audit
    .command("trust")
    .description("Show the pinned checkpoint-signing key versions (checked as a chain of trust); --out writes them for --trusted-keys")
    .option("--out <file>", "write { keyId: public JWK } of every pinned version, for `audit verify --trusted-keys`")
    .option("--json", "print JSON")
    .action(
      run(async (c, options: { out?: string; json?: boolean }) => {
        const { pins, trust } = await needTrust(c).load();
        if (options.out !== undefined) {
          await writeFile(options.out, `${JSON.stringify(Object.fromEntries(trust.keys.map((k) => [k.keyId, k.publicKey])), null, 2)}\n`, { flag: "wx" });
        }
        const rows = pins.map((p) => ({ index: p.index, keyId: p.keyId, thumbprint: p.thumbprint, pinnedAt: p.pinnedAt, previousKeyId: p.previousKeyId }));
        if (options.json === true) json({ root: trust.root, pins: rows, ...(options.out === undefined ? {} : { written: options.out }) });
        else {
          out(trust.root === null ? "no key pinned yet (the first checkpoint pins the trust root)\n" : `trust root ${trust.root}: ${rows.length} pinned version(s), chain of trust intact\n`);
          for (const row of rows) out(`${row.index}  ${row.keyId}  thumbprint ${row.thumbprint}  pinned ${row.pinnedAt}${row.previousKeyId === null ? "  (root)" : `  signed by ${row.previousKeyId}`}\n`);
          if (options.out !== undefined) out(`wrote ${options.out}\n`);
        }
      }),
    );

  audit
    .command("rotate-key")
    .description("Make a new version of the checkpoint key in Key Vault and pin it, signed by the previous pinned version (needs Key Vault Crypto Officer)")
    .option("--json", "print JSON")
    .action(
      run(async (c, options: { json?: boolean }) => {
        const { previous, pinned } = await needTrust(c).rotate();
        const result = { previousKeyId: previous?.keyId ?? null, keyId: pinned.keyId, thumbprint: pinned.thumbprint, pinnedAt: pinned.pinnedAt };
        // The pin is the durable record; the event puts the rotation in the `_system` chain too (the outbox keeps it through a broker outage).
        const event = credentialAuditEvent({
          type: "key_rotated",
          actorId: "cli",
          project: SYSTEM_CHAIN_ID,
          status: "success",
          atInMs: Date.parse(pinned.pinnedAt),
          policyVersion: "n/a",
          details: { credentialId: "audit-checkpoint-key", keyId: result.keyId, previousKeyId: result.previousKeyId, thumbprint: result.thumbprint },
          idempotencyParts: ["audit-checkpoint-key", result.keyId],
          newEventId: randomUUID,
        });
        await c.publisherFor("outbox").publish([event]);
        if (options.json === true) json(result);
        else out(`pinned ${result.keyId} (thumbprint ${result.thumbprint}), introduced by ${result.previousKeyId ?? "nothing: trust root"}; checkpoints are signed with it from now on\n`);
      }),
    );
}
