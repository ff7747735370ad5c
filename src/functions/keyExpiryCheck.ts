import { type InvocationContext, type Timer } from "@azure/functions";
import { type RotationServices, getRotationServices } from "../composition/services.js";
import { type KeyExpiryCheckResult } from "../core/expiry/KeyExpiryCheck.js";
import { defineFunction } from "./definition.js";

/** The timer's handler over a services factory (tests pass their own). */
export function createKeyExpiryCheckHandler(getServices: () => Promise<Pick<RotationServices, "expiryCheck">>) {
  return async (_timer: Timer, _context: InvocationContext): Promise<KeyExpiryCheckResult> => {
    const { expiryCheck } = await getServices();
    return expiryCheck.run();
  };
}

/** Every 6 hours by default: days to expiry of every managed credential and Palisade API key. */
export const keyExpiryCheck = createKeyExpiryCheckHandler(getRotationServices);

export const definition = defineFunction({
  kind: "timer",
  name: "keyExpiryCheck",
  options: { schedule: "%KEY_EXPIRY_CHECK_SCHEDULE%", handler: keyExpiryCheck },
});
