import { type InvocationContext, type Timer } from "@azure/functions";
import { getAppServices } from "../composition/services.js";
import { type StoredResponseOwners } from "../core/gateway/operations/responses/StoredResponseOwners.js";
import { defineFunction } from "./definition.js";

/** The most owner records one run deletes: a bounded run; what is left waits for the next one. */
export const PURGE_MAX_ROWS = 10_000;

/** The timer's handler over the owners' factory (tests pass their own). */
export function createPurgeStoredResponseOwnersHandler(getOwners: () => Promise<Pick<StoredResponseOwners, "purgeExpired">>) {
  return async (_timer: Timer, context: InvocationContext): Promise<number> => {
    const owners = await getOwners();
    const deleted = await owners.purgeExpired({ maxRows: PURGE_MAX_ROWS });
    if (deleted > 0) context.log(`stored response owners: purged ${deleted} expired record(s)${deleted >= PURGE_MAX_ROWS ? "; more wait for the next run" : ""}`);
    return deleted;
  };
}

/** Hourly by default: Table Storage has no TTL, so expired owner records (PALISADE_STORED_RESPONSE_RETENTION_IN_DAYS) are deleted here. */
export const purgeStoredResponseOwners = createPurgeStoredResponseOwnersHandler(async () => (await getAppServices()).responseOwners);

export const definition = defineFunction({
  kind: "timer",
  name: "purgeStoredResponseOwners",
  options: { schedule: "%STORED_RESPONSE_OWNERS_PURGE_SCHEDULE%", handler: purgeStoredResponseOwners },
});
