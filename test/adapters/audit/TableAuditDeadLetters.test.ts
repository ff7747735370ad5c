import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite } from "../../../local/azurite.js";
import { TableAuditDeadLetters } from "../../../src/adapters/tables/audit/TableAuditDeadLetters.js";
import { describeAuditDeadLettersContract } from "../../contracts/auditDeadLetters.contract.js";
import { startAzurite, tableClient } from "./azuriteStack.js";

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite.stop();
});

describeAuditDeadLettersContract("TableAuditDeadLetters on Azurite", async () => ({ deadLetters: new TableAuditDeadLetters(tableClient(azurite)) }));

describe("TableAuditDeadLetters", () => {
  it("keeps the first 720,000 bytes of a larger body, with the size and SHA-256 of the whole", async () => {
    const deadLetters = new TableAuditDeadLetters(tableClient(azurite));
    const body = randomBytes(800_000);
    await deadLetters.put([{ messageId: "huge", chainId: "c", reason: "too_large", body }]);
    const stored: unknown[] = [];
    for await (const letter of deadLetters.list()) stored.push(letter);
    expect(stored).toHaveLength(1);
    const letter = stored[0] as { body: Uint8Array; bodyBytes: number; bodySha256: string; bodyTruncated: boolean };
    expect(letter).toMatchObject({ bodyBytes: 800_000, bodyTruncated: true, bodySha256: createHash("sha256").update(body).digest("hex") });
    expect(Buffer.from(letter.body).equals(body.subarray(0, 720_000))).toBe(true);
  });
});
