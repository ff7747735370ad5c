import { TableStoredResponseOwners } from "../adapters/tables/TableStoredResponseOwners.js";
import { type Clock } from "../core/clock.js";
import { type Settings } from "./settings.js";
import { TABLES, type StorageClients } from "./storage.js";

const DAY_IN_MS = 86_400_000;

/** Which project made each stored Response; in Azure the table is provisioned by infra/, on the local stack it is created on first use. */
export function createResponseOwners(storage: StorageClients, settings: Settings, clock: Clock): TableStoredResponseOwners {
  return new TableStoredResponseOwners(storage.table(TABLES.storedResponseOwners), {
    clock,
    retentionInMs: settings.PALISADE_STORED_RESPONSE_RETENTION_IN_DAYS * DAY_IN_MS,
    createTableIfMissing: settings.PALISADE_LOCAL_STACK,
  });
}
