import { TableClient } from "@azure/data-tables";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../../local/azurite.js";
import { API_KEYS_TABLE, TableApiKeyStore } from "../../../src/adapters/tables/TableApiKeyStore.js";
import { describeApiKeyStoreContract } from "../../contracts/apiKeyStore.contract.js";

let azurite: RunningAzurite;
let tableCount = 0;

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite.stop();
});

function client(name: string): TableClient {
  return TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true });
}

// A fresh table per test keeps the contract's "fresh, empty store" promise.
describeApiKeyStoreContract("TableApiKeyStore on Azurite", async () => {
  tableCount += 1;
  return new TableApiKeyStore(client(`ApiKeysContract${tableCount}`));
});

describe("TableApiKeyStore storage layout", () => {
  it("stores one row per key in ApiKeys (PartitionKey = key id) with the hash and never a secret", async () => {
    const store = new TableApiKeyStore(client(API_KEYS_TABLE));
    await store.create({
      keyId: "abcdefghijklmnop",
      secretHash: "f".repeat(64),
      project: "billing",
      serviceAccount: "billing-app",
      createdAtInMs: 1_000,
      expiresAtInMs: 2_000,
      revokedAtInMs: null,
    });
    const raw = await client(API_KEYS_TABLE).getEntity<Record<string, unknown>>("abcdefghijklmnop", "apikey");
    expect(raw.secretHash).toBe("f".repeat(64));
    expect(Object.keys(raw)).not.toContain("secret");
    expect(raw.revokedAtInMs).toBeUndefined();
  });

  it("treats key ids Table Storage cannot hold as unknown", async () => {
    const store = new TableApiKeyStore(client(API_KEYS_TABLE));
    expect(await store.get("a/b#c")).toBeNull();
    expect(await store.revoke("a?b", 1)).toBeNull();
  });
});
