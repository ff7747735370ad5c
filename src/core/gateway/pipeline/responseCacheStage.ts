import { type CachedResponse, type ResponseCache } from "../../cache/ResponseCache.js";
import { cacheKeyFor, isCacheable } from "../../cache/cacheKeyFor.js";
import { type Clock } from "../../clock.js";
import { type Logger } from "../../logger.js";
import { type DataClass, type EndpointPolicy, type ProjectPolicy } from "../../policy/schema.js";

export interface CacheDeps {
  readonly cache: { readonly store: ResponseCache; readonly secret: Uint8Array } | null;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The cache key of a request, or null when it may not be cached (class, findings, shape, project setting). */
export function cacheKeyOf(deps: CacheDeps, project: ProjectPolicy, dataClass: DataClass, findingCount: number, deployment: string, body: Readonly<Record<string, unknown>>, operation?: string): string | null {
  if (!deps.cache) return null;
  const candidate = { projectId: project.id, cache: project.cache, dataClass, dlpFindingCount: findingCount, deployment, body, ...(operation === undefined ? {} : { operation }) };
  if (!isCacheable(candidate).cacheable) return null;
  return cacheKeyFor(candidate, deps.cache.secret);
}

/** A cached answer; a cache that cannot be read is a miss (logged), never a failed request. */
export async function cachedResponse(deps: CacheDeps, key: string): Promise<CachedResponse | null> {
  try {
    return (await deps.cache?.store.get(key)) ?? null;
  } catch {
    deps.logger.warn("response cache read failed; treating as a miss");
    return null;
  }
}

export async function storeInCache(deps: CacheDeps, key: string, project: ProjectPolicy, body: string, endpoint: EndpointPolicy): Promise<void> {
  const ttlSeconds = project.cache?.ttlSeconds;
  if (!deps.cache || ttlSeconds === undefined) return;
  const value: CachedResponse = { body, contentType: "application/json", endpointId: endpoint.id, region: endpoint.region, endpointClass: endpoint.class, createdAtInMs: deps.clock.nowInMs() };
  try {
    await deps.cache.store.set(key, value, ttlSeconds * 1000);
  } catch {
    deps.logger.warn("response cache write failed", { project: project.id });
  }
}
