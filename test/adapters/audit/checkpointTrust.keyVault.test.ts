import { TableClient } from "@azure/data-tables";
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys";
import { BlobServiceClient } from "@azure/storage-blob";
import { CommanderError } from "commander";
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzurite, type RunningAzurite } from "../../../local/azurite.js";
import { startKeyVaultEmulator, type RunningKeyVaultEmulator } from "../../../local/keyvault/index.js";
import { BlobCheckpointAnchor } from "../../../src/adapters/blob/BlobCheckpointAnchor.js";
import { BlobCheckpointKeyPins } from "../../../src/adapters/blob/BlobCheckpointKeyPins.js";
import { LocalDevelopmentCredential } from "../../../src/adapters/identity/LocalDevelopmentCredential.js";
import { keyVaultClientOptions } from "../../../src/adapters/keyvault/keyVaultClientOptions.js";
import { AUDIT_LOG_TABLE, fromEntryEntity, toEntryEntity, toHeadEntity } from "../../../src/adapters/tables/audit/auditEntities.js";
import { createAuditCommand, EXIT_TAMPERED } from "../../../src/cli/commands/audit.js";
import { type AuditComponents, createAuditComponents } from "../../../src/composition/audit.js";
import { createEntry, formatSequence, GENESIS_HASH, parseEntryBody, entryLeafHash } from "../../../src/core/audit/ChainEntry.js";
import { checkpointNoteText, type SignedCheckpoint } from "../../../src/core/audit/checkpointNote.js";
import { sha256 } from "../../../src/core/audit/hashing.js";
import { merkleRoot } from "../../../src/core/audit/merkle.js";
import { ManualClock } from "../../../src/core/clock.js";
import { KeyExpiryCheck } from "../../../src/core/expiry/KeyExpiryCheck.js";
import { silentLogger } from "../../../src/core/logger.js";
import { describeCheckpointKeyPinsContract } from "../../contracts/checkpointKeyPins.contract.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryAuditDeadLetterQueue } from "../../fakes/InMemoryAuditDeadLetterQueue.js";
import { InMemoryAuditPublisher } from "../../fakes/InMemoryAuditPublisher.js";

let azurite: RunningAzurite;
let vault: RunningKeyVaultEmulator;
beforeAll(async () => {
  [azurite, vault] = await Promise.all([startAzurite(), startKeyVaultEmulator()]);
});
afterAll(async () => {
  await Promise.allSettled([azurite.stop(), vault.stop()]);
});

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    callback();
  }
}

const credential = new LocalDevelopmentCredential();

/** A deployment of its own: its own checkpoint key in the emulator and its own checkpoint container in Azurite. */
function deployment() {
  const keyName = `cp-${randomUUID().slice(0, 8)}`;
  const container = `cp-${randomUUID()}`;
  const clock = new ManualClock();
  const created = createAuditComponents({
    storage: { connectionString: azurite.connectionString },
    keyVault: { url: vault.vaultUrl, credential, caCertPem: vault.caCertPem },
    checkpointKeyName: keyName,
    checkpointContainer: container,
    checkpointEvery: 0,
    auditQueue: "audit-events",
    clock,
    logger: silentLogger,
  });
  // No Service Bus here: an empty dead-letter queue, so that verify can say "complete".
  const components: AuditComponents = { ...created, deadLetterQueue: new InMemoryAuditDeadLetterQueue(new InMemoryAuditPublisher()) };
  const stdout = new Capture();
  const stderr = new Capture();
  const run = async (...args: string[]): Promise<void> => {
    stdout.text = "";
    stderr.text = "";
    await createAuditCommand({ getAuditComponents: async () => components, stdout, stderr }).parseAsync(args, { from: "user" });
  };
  const runFails = async (...args: string[]): Promise<CommanderError> => {
    const error: unknown = await run(...args).then(() => null, (caught: unknown) => caught);
    if (!(error instanceof CommanderError)) throw new Error(`expected a CommanderError, got ${String(error)}; stdout ${stdout.text}`);
    return error;
  };
  const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(container);
  const keys = new KeyClient(vault.vaultUrl, credential, keyVaultClientOptions({ caCertPem: vault.caCertPem }));
  return { components, clock, keyName, blobs, keys, stdout, stderr, run, runFails };
}

async function append(components: AuditComponents, chainId: string, from: number, count: number): Promise<void> {
  const events = Array.from({ length: count }, (_, i) => makeAuditEvent({ project: chainId }, from + i));
  await components.appender.append(events.map((body) => ({ messageId: body.eventId, body })));
}

/**
 * The attack of issue 21 item 10: with write access to the table, the blobs and the vault (but not to
 * the pinned key), rewrite the chain, add a key version to the vault and re-sign the notes with it.
 */
async function rewriteAndResign(d: ReturnType<typeof deployment>, chainId: string, size: number): Promise<string> {
  const table = TableClient.fromConnectionString(azurite.connectionString, AUDIT_LOG_TABLE, { allowInsecureConnection: true });
  let prev = GENESIS_HASH;
  const leaves: Buffer[] = [];
  for (let seq = 0; seq < size; seq += 1) {
    const original = parseEntryBody(fromEntryEntity(await table.getEntity<Record<string, unknown>>(chainId, formatSequence(seq))).canonical)!;
    const entry = createEntry({ chainId, sequence: seq, ts: original.ts, prevHash: prev, event: { ...original.event, costUsd: 0 } });
    await table.upsertEntity(toEntryEntity(entry), "Replace");
    leaves.push(entryLeafHash(entry.canonical));
    prev = entry.hash;
  }
  await table.upsertEntity(toHeadEntity({ chainId, size, lastHash: prev, updatedAt: "2026-01-02T00:00:00.000Z" }), "Replace");
  const added = await d.keys.createEcKey(d.keyName, { curve: "P-256", keyOps: ["sign", "verify"] });
  const crypto = new CryptographyClient(added.id!, credential, keyVaultClientOptions({ caCertPem: vault.caCertPem }));
  const name = BlobCheckpointAnchor.blobName(chainId, size);
  await d.blobs.getBlockBlobClient(name).delete();
  const body = { origin: chainId, size, rootHash: merkleRoot(leaves).toString("hex"), timestamp: "2026-01-02T00:00:00.000Z" };
  const signature = (await crypto.sign("ES256", sha256(checkpointNoteText(body)))).result;
  const note: SignedCheckpoint = { ...body, keyId: added.id!, algorithm: "ES256", signature: Buffer.from(signature).toString("base64") };
  await d.components.anchor.put(note);
  return added.id!;
}

describeCheckpointKeyPinsContract("BlobCheckpointKeyPins on Azurite", async () => {
  const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(`cp-${randomUUID()}`);
  return {
    pins: new BlobCheckpointKeyPins(container),
    corrupt: async (index, text) => {
      await container.getBlockBlobClient(BlobCheckpointKeyPins.blobName(index)).upload(text, Buffer.byteLength(text));
    },
  };
});

describe("pinned trust in the checkpoint key, on the Key Vault emulator and Azurite (issue 21 item 10)", () => {
  it("notes re-signed with a key version added to the vault: verify refuses without --trusted-keys, naming the version", async () => {
    const d = deployment();
    await append(d.components, "victim", 0, 12);
    await d.run("checkpoint", "--chain", "victim");
    await d.run("verify", "--chain", "victim");
    expect(d.stdout.text).toContain("intact: 12 entries, 1 signed checkpoints");
    expect(d.stdout.text).toContain(`/keys/${d.keyName}/`);

    const attacker = await rewriteAndResign(d, "victim", 12);
    const error = await d.runFails("verify", "--chain", "victim");
    expect(error.exitCode).toBe(EXIT_TAMPERED);
    expect(d.stderr.text).toContain("untrusted_key");
    expect(d.stderr.text).toContain(attacker);
    // What the old default did: the vault vouches for any version, so the rewrite verifies.
    await d.run("verify", "--chain", "victim", "--trust-key-vault");
    expect(d.stdout.text).toContain("is intact");
    expect(d.stderr.text).toContain("WARNING: --trust-key-vault");
  });

  it("the key expiry check reads the latest PINNED version's expiry from the vault, and follows rotate-key", async () => {
    const d = deployment();
    const day = 86_400_000;
    const now = Math.floor(Date.now() / 1000) * 1000;
    const root = await d.keys.createEcKey(d.keyName, { curve: "P-256", keyOps: ["sign", "verify"], expiresOn: new Date(now + 5 * day) });
    await append(d.components, "expiring", 0, 3);
    await d.run("checkpoint", "--chain", "expiring", "--json");
    expect((JSON.parse(d.stdout.text) as SignedCheckpoint).keyId).toBe(root.id);
    // A later version nobody pinned (with a long life) does not hide the pinned one's expiry.
    await d.keys.createEcKey(d.keyName, { curve: "P-256", keyOps: ["sign", "verify"], expiresOn: new Date(now + 400 * day) });
    const keyTrust = d.components.keyTrust!;
    expect(await keyTrust.signingKeyExpiry()).toEqual({ keyId: root.id, pinned: true, expiresAtInMs: now + 5 * day });

    const audit = new InMemoryAuditPublisher();
    const check = new KeyExpiryCheck({ secrets: null, apiKeys: null, checkpointKey: keyTrust, audit, clock: new ManualClock(now), logger: silentLogger, newEventId: randomUUID, policyVersion: "p1" });
    expect(await check.run()).toMatchObject({ checked: 1, warnings: 1 });
    expect(audit.published[0]).toMatchObject({ type: "key_expiring", details: { kind: "checkpoint-key", credentialId: root.id, days: 5, remedy: "palisade audit rotate-key" } });

    await d.run("rotate-key", "--json");
    const rotated = JSON.parse(d.stdout.text) as { keyId: string };
    const after = await keyTrust.signingKeyExpiry();
    expect(after).toMatchObject({ keyId: rotated.keyId, pinned: true });
    expect(after.expiresAtInMs).toBeGreaterThan(now);
  });

  it("rotate-key pins a version made in the vault, signed by the previous one; later checkpoints use it and verify passes", async () => {
    const d = deployment();
    await append(d.components, "rotating", 0, 5);
    await d.run("checkpoint", "--chain", "rotating", "--json");
    const first = (JSON.parse(d.stdout.text) as SignedCheckpoint).keyId;
    // A version added to the vault by anyone is neither used nor trusted.
    const added = (await d.keys.createEcKey(d.keyName, { curve: "P-256", keyOps: ["sign", "verify"] })).id!;
    await d.run("rotate-key", "--json");
    const rotated = JSON.parse(d.stdout.text) as { keyId: string; previousKeyId: string };
    expect(rotated.previousKeyId).toBe(first);
    expect([first, added]).not.toContain(rotated.keyId);
    await append(d.components, "rotating", 5, 3);
    await d.run("checkpoint", "--chain", "rotating", "--json");
    expect(JSON.parse(d.stdout.text)).toMatchObject({ size: 8, keyId: rotated.keyId });
    await d.run("verify", "--chain", "rotating", "--json");
    expect(JSON.parse(d.stdout.text)).toMatchObject({ intact: true, checkpointsChecked: 2, trust: { mode: "pinned", keys: [{ keyId: first }, { keyId: rotated.keyId }] } });
    await d.run("trust");
    expect(d.stdout.text).toContain("2 pinned version(s), chain of trust intact");
    expect(d.stdout.text).not.toContain(added);
    // The opt-out still works on an intact chain, and says what it trusted.
    await d.run("verify", "--chain", "rotating", "--trust-key-vault", "--json");
    expect(JSON.parse(d.stdout.text)).toMatchObject({ intact: true, trust: { mode: "key_vault" } });
    expect(d.stderr.text).toContain("WARNING: --trust-key-vault");
  });

  it("a key pin edited in Blob storage (the attacker's key swapped in): verify exits 2", async () => {
    const d = deployment();
    await append(d.components, "pinned", 0, 4);
    await d.run("checkpoint", "--chain", "pinned");
    const root = d.blobs.getBlockBlobClient(BlobCheckpointKeyPins.blobName(0));
    const pin = JSON.parse((await root.downloadToBuffer()).toString("utf8")) as { publicKey: { x: string } };
    const other = (await d.keys.createEcKey(`other-${d.keyName}`, { curve: "P-256" })).key!;
    const edited = JSON.stringify({ ...pin, publicKey: { ...pin.publicKey, x: Buffer.from(other.x!).toString("base64url") } });
    await root.upload(edited, Buffer.byteLength(edited));
    const error = await d.runFails("verify", "--chain", "pinned");
    expect(error.exitCode).toBe(EXIT_TAMPERED);
    expect(d.stderr.text).toContain("Key pin 0");
    expect(d.stderr.text).toContain("thumbprint does not match");
    await append(d.components, "pinned", 4, 2);
    d.clock.advance(60_000); // the signer reads the pins again at most once a minute
    const failed = await d.runFails("checkpoint", "--chain", "pinned");
    expect(failed.exitCode).toBe(1);
    expect(d.stderr.text).toContain("Key pin 0");
  });
});
