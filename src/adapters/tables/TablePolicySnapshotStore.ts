import { type TableClient } from "@azure/data-tables";
import { parseAuditEvent } from "../../core/audit/auditEventSchema.js";
import { type AuditEvent } from "../../core/audit/AuditEvent.js";
import { policySnapshotSchema } from "../../core/policyTrail/PolicySnapshot.js";
import {
  type PolicySnapshotStore,
  type PolicySnapshotStoreOptions,
  type PolicyTrailState,
  type StoredPolicyTrailState,
} from "../../core/policyTrail/PolicySnapshotStore.js";
import { ensureTable, once, statusCodeOf } from "../azure/azureErrors.js";

/**
 * The policy trail's one row: PartitionKey "policy", RowKey "current". The state is JSON split over
 * `part0..partN` (a Table string property holds at most 64 KiB); `parts` says how many. Writes are
 * an insert (409: someone else was first) or a replace with If-Match (412: it moved).
 */
export const POLICY_SNAPSHOTS_TABLE = "PolicySnapshots";
const PARTITION = "policy";
const ROW_KEY = "current";
const PART_LENGTH = 30_000;
const MAX_PARTS = 30;

export interface TablePolicySnapshotStoreOptions {
  readonly createTableIfMissing?: boolean;
}

function parseState(entity: Record<string, unknown>): PolicyTrailState {
  const parts = typeof entity.parts === "number" ? entity.parts : 0;
  let text = "";
  for (let i = 0; i < parts; i += 1) {
    const part = entity[`part${i}`];
    if (typeof part !== "string") throw new Error(`${POLICY_SNAPSHOTS_TABLE} row is malformed (part ${i} missing)`);
    text += part;
  }
  const value = JSON.parse(text) as { snapshot?: unknown; pendingEvents?: unknown; pendingSinceInMs?: unknown };
  const snapshot = policySnapshotSchema.parse(value.snapshot);
  const pendingEvents: AuditEvent[] = [];
  for (const item of Array.isArray(value.pendingEvents) ? (value.pendingEvents as unknown[]) : []) {
    const parsed = parseAuditEvent(item);
    if (!parsed.ok) throw new Error(`${POLICY_SNAPSHOTS_TABLE} row holds an invalid pending event (${parsed.reason})`);
    pendingEvents.push(parsed.event);
  }
  return { snapshot, pendingEvents, pendingSinceInMs: typeof value.pendingSinceInMs === "number" ? value.pendingSinceInMs : null };
}

export class TablePolicySnapshotStore implements PolicySnapshotStore {
  /** Creates the table on first use (unless told not to); retried after a failure. */
  private readonly ready = once(() => (this.options.createTableIfMissing === false ? Promise.resolve() : ensureTable(() => this.table.createTable())));

  constructor(
    private readonly table: TableClient,
    private readonly options: TablePolicySnapshotStoreOptions = {},
  ) {}

  async get(options: PolicySnapshotStoreOptions = {}): Promise<StoredPolicyTrailState | null> {
    await this.ready();
    try {
      const entity = await this.table.getEntity<Record<string, unknown>>(PARTITION, ROW_KEY, { abortSignal: options.abortSignal });
      return { ...parseState(entity), etag: entity.etag };
    } catch (error) {
      if (statusCodeOf(error) === 404) return null;
      throw error;
    }
  }

  async compareAndSet(state: PolicyTrailState, expectedEtag: string | null, options: PolicySnapshotStoreOptions = {}): Promise<string | null> {
    await this.ready();
    const text = JSON.stringify({ snapshot: state.snapshot, pendingEvents: state.pendingEvents, pendingSinceInMs: state.pendingSinceInMs });
    const parts = Math.max(1, Math.ceil(text.length / PART_LENGTH));
    if (parts > MAX_PARTS) throw new RangeError(`the policy snapshot is too large to store (${text.length} characters)`);
    const entity: Record<string, unknown> & { partitionKey: string; rowKey: string } = { partitionKey: PARTITION, rowKey: ROW_KEY, parts, version: state.snapshot.version };
    for (let i = 0; i < parts; i += 1) entity[`part${i}`] = text.slice(i * PART_LENGTH, (i + 1) * PART_LENGTH);
    try {
      const response =
        expectedEtag === null
          ? await this.table.createEntity(entity, { abortSignal: options.abortSignal })
          : await this.table.updateEntity(entity, "Replace", { etag: expectedEtag, abortSignal: options.abortSignal });
      if (response.etag === undefined) throw new Error("the Table service returned no ETag");
      return response.etag;
    } catch (error) {
      const status = statusCodeOf(error);
      if (status === 409 || status === 412 || status === 404) return null;
      throw error;
    }
  }

}
