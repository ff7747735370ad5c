import { type TableClient, type TableEntityResult, odata } from "@azure/data-tables";
import {
  type RotationState,
  type RotationStateOptions,
  type RotationStateStore,
  RotationStateConflictError,
  type StoredRotationState,
  parseRotationState,
} from "../../core/rotation/RotationStateStore.js";
import { ensureTable, once, statusCodeOf } from "../azure/azureErrors.js";

/**
 * Rotation state in Azure Table Storage, table `RotationState`: PartitionKey = credential id (its Key
 * Vault secret name), RowKey = "state". The state is one JSON column plus `step` for queries. Every
 * write is an If-Match on the ETag (412 -> conflict); create is an insert (409 -> conflict). The
 * row's Timestamp, set by the service on each write, is read back as the server time.
 */
export const ROTATION_STATE_TABLE = "RotationState";
const ROW_KEY = "state";
const SAFE_KEY = /^[A-Za-z0-9-]{1,127}$/;

interface RotationStateEntity {
  partitionKey: string;
  rowKey: string;
  step: string;
  state: string;
}

export interface TableRotationStateStoreOptions {
  /** Create the table on first use (default true). */
  readonly createTableIfMissing?: boolean;
}

function toStored(entity: TableEntityResult<Record<string, unknown>>): StoredRotationState {
  const { partitionKey, state, timestamp, etag } = entity;
  let parsed: RotationState | null = null;
  try {
    parsed = typeof state === "string" ? parseRotationState(JSON.parse(state)) : null;
  } catch {
    parsed = null;
  }
  const serverTimestampInMs = typeof timestamp === "string" ? Date.parse(timestamp) : Number.NaN;
  if (typeof partitionKey !== "string" || parsed === null || !Number.isFinite(serverTimestampInMs)) {
    throw new Error(`${ROTATION_STATE_TABLE} row ${String(partitionKey)} is malformed`);
  }
  return { credentialId: partitionKey, state: parsed, etag, serverTimestampInMs };
}

export class TableRotationStateStore implements RotationStateStore {
  /** Creates the table on first use (unless told not to); retried after a failure. */
  private readonly ready = once(() => (this.options.createTableIfMissing === false ? Promise.resolve() : ensureTable(() => this.table.createTable())));

  constructor(
    private readonly table: TableClient,
    private readonly options: TableRotationStateStoreOptions = {},
  ) {}

  async get(credentialId: string, options: RotationStateOptions = {}): Promise<StoredRotationState | null> {
    if (!SAFE_KEY.test(credentialId)) return null;
    await this.ready();
    try {
      return toStored(await this.table.getEntity<Record<string, unknown>>(credentialId, ROW_KEY, { abortSignal: options.abortSignal }));
    } catch (error) {
      if (statusCodeOf(error) === 404) return null;
      throw error;
    }
  }

  async create(credentialId: string, state: RotationState, options: RotationStateOptions = {}): Promise<StoredRotationState> {
    this.assertKey(credentialId);
    await this.ready();
    let etag: string | undefined;
    try {
      etag = (await this.table.createEntity(this.entity(credentialId, state), { abortSignal: options.abortSignal })).etag;
    } catch (error) {
      if (statusCodeOf(error) === 409) throw new RotationStateConflictError(credentialId);
      throw error;
    }
    return this.readBack(credentialId, etag, options);
  }

  async update(credentialId: string, state: RotationState, etag: string, options: RotationStateOptions = {}): Promise<StoredRotationState> {
    this.assertKey(credentialId);
    await this.ready();
    let written: string | undefined;
    try {
      written = (await this.table.updateEntity(this.entity(credentialId, state), "Replace", { etag, abortSignal: options.abortSignal })).etag;
    } catch (error) {
      const status = statusCodeOf(error);
      if (status === 412 || status === 404) throw new RotationStateConflictError(credentialId);
      throw error;
    }
    return this.readBack(credentialId, written, options);
  }

  async *list(options: RotationStateOptions = {}): AsyncIterable<StoredRotationState> {
    await this.ready();
    const entities = this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`RowKey eq ${ROW_KEY}` }, abortSignal: options.abortSignal });
    for await (const entity of entities) yield toStored(entity);
  }

  /**
   * The write's server Timestamp. Writes return only the ETag, so the row is read back; if another
   * writer got in between, this writer has already lost and is told so.
   */
  private async readBack(credentialId: string, etag: string | undefined, options: RotationStateOptions): Promise<StoredRotationState> {
    const stored = await this.get(credentialId, options);
    if (stored === null || (etag !== undefined && stored.etag !== etag)) throw new RotationStateConflictError(credentialId);
    return stored;
  }

  private entity(credentialId: string, state: RotationState): RotationStateEntity {
    return { partitionKey: credentialId, rowKey: ROW_KEY, step: state.step, state: JSON.stringify(state) };
  }

  private assertKey(credentialId: string): void {
    if (!SAFE_KEY.test(credentialId)) throw new Error("credential ids are Key Vault secret names: letters, digits and dashes");
  }

}
