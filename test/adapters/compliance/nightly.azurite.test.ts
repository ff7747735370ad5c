import { TableClient } from "@azure/data-tables";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../../local/azurite.js";
import { BlobComplianceReportStore } from "../../../src/adapters/compliance/BlobComplianceReportStore.js";
import { createAuditComponents } from "../../../src/composition/audit.js";
import { createComplianceNightly } from "../../../src/composition/compliance.js";
import { parseSettings } from "../../../src/composition/settings.js";
import { ManualClock } from "../../../src/core/clock.js";
import { type ComplianceSummary } from "../../../src/core/compliance/ComplianceSummary.js";
import { silentLogger } from "../../../src/core/logger.js";
import { parsePolicy } from "../../../src/core/policy/parsePolicy.js";
import { readFile } from "node:fs/promises";
import { generateDay } from "../../core/compliance/dayFixture.js";
import { InMemoryCheckpointSigner } from "../../fakes/InMemoryCheckpointSigner.js";

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

describe("complianceNightly on Azurite", () => {
  it("writes <chain>/<date>/summary.json and report.html to the compliance container, with a signed checkpoint", async () => {
    const cs = azurite.connectionString;
    const clock = new ManualClock(Date.parse("2026-03-11T02:00:00Z"));
    const signer = new InMemoryCheckpointSigner();
    const audit = createAuditComponents({
      storage: { connectionString: cs },
      checkpointKeyName: "audit-checkpoint",
      checkpointContainer: "audit-checkpoints",
      checkpointEvery: 0,
      auditQueue: "audit-events",
      clock,
      logger: silentLogger,
      checkpointKeys: { signer, verifier: signer.verifier() },
    });
    const day = generateDay({ chainId: "acme", count: 120, seed: 11 });
    await audit.appender.append(day.events.map((body) => ({ messageId: body.eventId, body })));
    const settings = parseSettings({ AZURE_STORAGE_CONNECTION_STRING: cs, PALISADE_LOCAL_STACK: "true", PALISADE_COMPLIANCE_CONTAINER: "compliance-test" });
    const storage = {
      table: (name: string) => TableClient.fromConnectionString(cs, name, { allowInsecureConnection: true }),
      blobService: async () => BlobServiceClient.fromConnectionString(cs),
    };
    const policy = parsePolicy(await readFile("config/policy.sample.yaml", "utf8"));
    const nightly = await createComplianceNightly({ audit, storage, settings, policy: policy.policy, clock, logger: silentLogger });

    const result = await nightly.run();
    expect(result).toMatchObject({ date: "2026-03-10", chains: [{ chainId: "acme", ok: true, intact: true, checkpointSize: day.events.length }] });

    const container = BlobServiceClient.fromConnectionString(cs).getContainerClient("compliance-test");
    const names: string[] = [];
    for await (const blob of container.listBlobsFlat()) names.push(blob.name);
    expect(names.sort()).toEqual(["acme/2026-03-10/report.html", "acme/2026-03-10/summary.json"]);
    const summaryBlob = container.getBlobClient("acme/2026-03-10/summary.json");
    expect((await summaryBlob.getProperties()).contentType).toMatch(/^application\/json/);
    const summary = JSON.parse((await summaryBlob.downloadToBuffer()).toString("utf8")) as ComplianceSummary;
    expect(summary.events.total).toBe(day.inside.length);
    expect(summary.integrity.checkpoint?.size).toBe(day.events.length);
    const html = (await container.getBlobClient("acme/2026-03-10/report.html").downloadToBuffer()).toString("utf8");
    expect(html).toContain(`<b id="events-total">${day.inside.length}</b>`);
    expect(BlobComplianceReportStore.blobName("acme", "2026-03-10", "summary.json")).toBe("acme/2026-03-10/summary.json");
    expect(() => BlobComplianceReportStore.blobName("..", "2026-03-10", "summary.json")).toThrow();

    // A rerun regenerates the day's files in place.
    clock.advance(60_000);
    await nightly.run({ date: "2026-03-10" });
    const again = JSON.parse((await summaryBlob.downloadToBuffer()).toString("utf8")) as ComplianceSummary;
    expect(again.generatedAt).toBe("2026-03-11T02:01:00.000Z");
    await audit.close();
  }, 60_000);
});
