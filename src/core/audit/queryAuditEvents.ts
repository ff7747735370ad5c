import { type AuditEvent } from "./AuditEvent.js";
import { type AuditLedger } from "./AuditLedger.js";
import { parseEntryBody } from "./ChainEntry.js";

export interface AuditEventFilter {
  /** One chain; all chains when absent. */
  readonly chainId?: string;
  readonly type?: string;
  readonly actorId?: string;
  /** ISO timestamps on the event's `ts`: since inclusive, until exclusive. */
  readonly since?: string;
  readonly until?: string;
  readonly abortSignal?: AbortSignal;
}

const toMs = (iso: string | undefined): number | undefined => {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`"${iso}" is not an ISO 8601 timestamp`);
  return ms;
};

/** The events of one chain (or all), in chain order, that match the filter. */
export async function* queryAuditEvents(ledger: AuditLedger, filter: AuditEventFilter = {}): AsyncIterable<AuditEvent> {
  const since = toMs(filter.since);
  const until = toMs(filter.until);
  const options = filter.abortSignal === undefined ? {} : { abortSignal: filter.abortSignal };
  const chains: string[] = [];
  if (filter.chainId !== undefined) chains.push(filter.chainId);
  else for await (const head of ledger.listChains(options)) chains.push(head.chainId);
  for (const chainId of chains) {
    for await (const entry of ledger.listEntries(chainId, options)) {
      if (filter.type !== undefined && entry.type !== filter.type) continue;
      if (filter.actorId !== undefined && entry.actorId !== filter.actorId) continue;
      const ts = Date.parse(entry.eventTs);
      if (since !== undefined && ts < since) continue;
      if (until !== undefined && ts >= until) continue;
      const body = parseEntryBody(entry.canonical);
      if (body !== null) yield body.event;
    }
  }
}
