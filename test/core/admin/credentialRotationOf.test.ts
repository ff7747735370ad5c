import { describe, expect, it } from "vitest";
import { credentialRotationOf } from "../../../src/core/admin/credentialRotationOf.js";
import { ManualClock } from "../../../src/core/clock.js";
import { type RotateOptions, type RotationOutcome } from "../../../src/core/rotation/CredentialRotator.js";
import { type ManagedCredential, tagsForVersion } from "../../../src/core/rotation/managedCredential.js";
import { InMemorySecretStore } from "../../fakes/InMemorySecretStore.js";

const credential: ManagedCredential = {
  id: "aoai-weu",
  issuer: "azure-openai",
  project: "billing",
  environment: "prod",
  target: "/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/a",
  deployment: "gpt-4o",
  rotationPeriodInDays: 30,
  overlapInMs: 3_600_000,
};

describe("credentialRotationOf", () => {
  it("describes a managed credential from its tags, without its value, and hands rotation to the rotator", async () => {
    const secrets = new InMemorySecretStore(new ManualClock());
    await secrets.setSecret("aoai-weu", "the-secret-value", { tags: tagsForVersion(credential, { stage: "current", issuerKeyId: "Key1", rotationId: "r1", slot: "Key1" }) });
    await secrets.setSecret("plain-secret", "not managed", { tags: {} });
    const calls: { id: string; options: RotateOptions | undefined }[] = [];
    const rotation = credentialRotationOf(
      {
        async rotate(id: string, options?: RotateOptions): Promise<RotationOutcome> {
          calls.push({ id, options });
          return { credentialId: id, status: "completed", rotationId: "r2", step: "idle" };
        },
      },
      secrets,
    );
    const described = await rotation.describe("aoai-weu");
    expect(described).toEqual({ id: "aoai-weu", project: "billing", environment: "prod", issuer: "azure-openai" });
    expect(JSON.stringify(described)).not.toContain("the-secret-value");
    expect(await rotation.describe("plain-secret")).toBeNull();
    expect(await rotation.describe("missing")).toBeNull();
    expect(await rotation.describe("../not a name")).toBeNull();
    await expect(rotation.rotate("aoai-weu", { force: true })).resolves.toMatchObject({ status: "completed" });
    expect(calls).toEqual([{ id: "aoai-weu", options: { force: true } }]);
  });
});
