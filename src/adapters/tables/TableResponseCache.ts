import { type TableClient } from "@azure/data-tables";
import { type Clock } from "../../core/clock.js";
import { assertCacheKey, type CachedResponse, encodeCachedBody, type ResponseCache, type ResponseCacheOptions } from "../../core/cache/ResponseCache.js";
import { ENDPOINT_CLASSES, type EndpointClass } from "../../core/policy/schema.js";
import { statusCodeOf } from "../azure/azureErrors.js";

export const RESPONSE_CACHE_TABLE = "ResponseCache";

interface CacheEntity {
  partitionKey: string;
  rowKey: string;
  body: Uint8Array;
  contentType: string;
  endpointId: string;
  region: string;
  endpointClass: string;
  createdAtInMs: number;
  expiresAtInMs: number;
}

const ROW_KEY = "response";
const decoder = new TextDecoder();

function isEndpointClass(value: unknown): value is EndpointClass {
  return typeof value === "string" && (ENDPOINT_CLASSES as readonly string[]).includes(value);
}

/**
 * ResponseCache on Azure Table storage, table `ResponseCache`: one entity per key (PartitionKey = key, so
 * reads are point reads spread over partitions), the body as one binary property. A property holds at most
 * 64 KiB, so a body over `MAX_CACHED_BODY_BYTES` is simply not cached. Tables have no TTL: expiry is a
 * stored `expiresAtInMs` checked on read; an expired row is deleted on that read (best effort, If-Match so
 * a fresh write is never removed) and otherwise overwritten by the next `set`.
 */
export class TableResponseCache implements ResponseCache {
  constructor(
    private readonly table: TableClient,
    private readonly clock: Clock,
  ) {}

  /** Creates the table if it is missing (start-up and tests; in Azure the table is provisioned). */
  async createTableIfMissing(options: ResponseCacheOptions = {}): Promise<void> {
    try {
      await this.table.createTable({ abortSignal: options.abortSignal });
    } catch (error) {
      if (statusCodeOf(error) !== 409) throw error;
    }
  }

  async get(key: string, options: ResponseCacheOptions = {}): Promise<CachedResponse | null> {
    assertCacheKey(key);
    let entity: Awaited<ReturnType<TableClient["getEntity"]>> & Partial<CacheEntity>;
    try {
      entity = await this.table.getEntity<CacheEntity>(key, ROW_KEY, { abortSignal: options.abortSignal });
    } catch (error) {
      if (statusCodeOf(error) === 404) return null;
      throw error;
    }
    const { body, contentType, endpointId, region, endpointClass, createdAtInMs, expiresAtInMs } = entity;
    const wellFormed =
      body instanceof Uint8Array &&
      typeof contentType === "string" &&
      typeof endpointId === "string" &&
      typeof region === "string" &&
      isEndpointClass(endpointClass) &&
      typeof createdAtInMs === "number" &&
      typeof expiresAtInMs === "number";
    if (!wellFormed || this.clock.nowInMs() >= expiresAtInMs) {
      await this.deleteStale(key, entity.etag, options);
      return null;
    }
    return { body: decoder.decode(body), contentType, endpointId, region, endpointClass, createdAtInMs };
  }

  async set(key: string, value: CachedResponse, ttlInMs: number, options: ResponseCacheOptions = {}): Promise<void> {
    assertCacheKey(key);
    if (!(ttlInMs > 0)) return;
    const body = encodeCachedBody(value.body);
    if (body === null) return;
    const entity: CacheEntity = {
      partitionKey: key,
      rowKey: ROW_KEY,
      body,
      contentType: value.contentType,
      endpointId: value.endpointId,
      region: value.region,
      endpointClass: value.endpointClass,
      createdAtInMs: value.createdAtInMs,
      expiresAtInMs: this.clock.nowInMs() + ttlInMs,
    };
    await this.table.upsertEntity(entity, "Replace", { abortSignal: options.abortSignal });
  }

  private async deleteStale(key: string, etag: string, options: ResponseCacheOptions): Promise<void> {
    try {
      await this.table.deleteEntity(key, ROW_KEY, { etag, abortSignal: options.abortSignal });
    } catch {
      // Best effort: a concurrent delete or a fresh write (412) both leave the right outcome.
    }
  }
}
