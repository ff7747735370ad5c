import { type Receiver, type Sender } from "rhea";

/** rhea internals the broker needs; the typings do not describe them. */
export interface LinkInternals {
  local: { attach: Record<string, unknown> };
  state: { local_open: boolean; open_requests: number };
  delivery_count: number;
  credit: number;
  _draining: boolean;
  _drained: boolean;
  _get_drain: () => boolean;
}

export function linkInternals(link: Sender | Receiver): LinkInternals {
  return link as unknown as LinkInternals;
}
