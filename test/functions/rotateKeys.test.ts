import { InvocationContext } from "@azure/functions";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import { createRotateKeysHandler, definition } from "../../src/functions/rotateKeys.js";
import { InMemoryCredentialIssuer } from "../fakes/InMemoryCredentialIssuer.js";
import { InMemoryRotationStateStore } from "../fakes/InMemoryRotationStateStore.js";
import { InMemorySecretStore } from "../fakes/InMemorySecretStore.js";
import { DAY, credentialFixture, recordingLogger, rotationWorld } from "../core/rotation/rotationFixture.js";

const timer = { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: "", next: "", lastUpdated: "" } };
const context = (): InvocationContext => new InvocationContext({ invocationId: "i1", functionName: "rotateKeys" });

describe("rotateKeys function", () => {
  it("is a timer on %ROTATE_KEYS_SCHEDULE%", () => {
    expect(definition).toMatchObject({ kind: "timer", name: "rotateKeys", options: { schedule: "%ROTATE_KEYS_SCHEDULE%" } });
  });

  it("rotates what is due and logs a summary", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const world = rotationWorld({ secrets: new InMemorySecretStore(clock), states: new InMemoryRotationStateStore(clock), issuer: new InMemoryCredentialIssuer(), localClock: clock });
    const credential = credentialFixture();
    await world.register(credential);
    clock.advance(31 * DAY);
    const handler = createRotateKeysHandler(async () => ({ rotator: world.rotator(), logger: world.logger }));
    const outcomes = await handler(timer, context());
    expect(outcomes.map((o) => [o.credentialId, o.status])).toEqual([[credential.id, "draining"]]);
    expect(world.logger.lines.some((line) => line.message === "rotateKeys done")).toBe(true);
  });

  it("does nothing without Key Vault, and says so", async () => {
    const logger = recordingLogger();
    expect(await createRotateKeysHandler(async () => ({ rotator: null, logger }))(timer, context())).toEqual([]);
    expect(logger.lines[0]?.level).toBe("warn");
  });
});
