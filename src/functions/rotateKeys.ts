import { type InvocationContext, type Timer } from "@azure/functions";
import { type RotationServices, getRotationServices } from "../composition/services.js";
import { type RotationOutcome } from "../core/rotation/CredentialRotator.js";
import { defineFunction } from "./definition.js";

/** The timer's handler over a services factory (tests pass their own). */
export function createRotateKeysHandler(getServices: () => Promise<Pick<RotationServices, "rotator" | "logger">>) {
  return async (_timer: Timer, _context: InvocationContext): Promise<RotationOutcome[]> => {
    const { rotator, logger } = await getServices();
    if (rotator === null) {
      logger.warn("rotateKeys skipped: no Key Vault is configured (AZURE_KEYVAULT_URL)");
      return [];
    }
    const outcomes = await rotator.rotateDue();
    const count = (status: RotationOutcome["status"]): number => outcomes.filter((o) => o.status === status).length;
    logger.info("rotateKeys done", {
      credentials: outcomes.length,
      completed: count("completed"),
      draining: count("draining"),
      rolledBack: count("rolled_back"),
      busy: count("busy"),
      errors: count("error"),
    });
    return outcomes;
  };
}

/** Resumes rotations in flight and starts the due ones; see docs/rotation.md. */
export const rotateKeys = createRotateKeysHandler(getRotationServices);

export const definition = defineFunction({
  kind: "timer",
  name: "rotateKeys",
  options: { schedule: "%ROTATE_KEYS_SCHEDULE%", handler: rotateKeys },
});
