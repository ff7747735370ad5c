import { Socket } from "node:net";
import rhea from "rhea";
import { coalesceSocketWrites } from "./coalesceSocketWrites.js";

/** What this module uses of a rhea connection beyond its typings (rhea 3.0: connection.js). */
interface RheaConnectionInternals {
  is_server?: boolean;
  init: (this: RheaConnectionInternals, socket: unknown) => unknown;
}

const INSTALLED = Symbol("palisade.coalesceAmqpWrites");

/**
 * Makes every AMQP client connection rhea opens in this process (the Service Bus SDK's) hand one
 * event-loop turn's frames to the kernel with one write (`coalesceSocketWrites`), instead of one
 * `socket.write` per frame (rhea's Transport.write): with concurrent requests, a turn's transfers,
 * flows and dispositions share a system call and a TCP segment.
 *
 * Why a prototype patch: neither @azure/service-bus nor @azure/core-amqp passes socket options to
 * rhea, and the SDK's socket sits behind private fields and is replaced on every reconnect. rhea
 * hands each new socket to `Connection.prototype.init(socket)` (connect and reconnect alike), so that
 * one method is wrapped, reached through rhea's public `create_connection`. Server connections
 * (`accept`, e.g. the local emulator, which coalesces its own) and non-TCP sockets (the WebSocket
 * transport's wrapper) are left alone. If rhea's shape differs (another major version), nothing is
 * patched and `false` is returned: the SDK then writes frame by frame, as before.
 * Idempotent; returns whether the patch is in place.
 */
export function coalesceAmqpWrites(): boolean {
  const prototype = connectionPrototype();
  if (prototype === null) return false;
  const marked = prototype as RheaConnectionInternals & { [INSTALLED]?: true };
  if (marked[INSTALLED] === true) return true;
  const init = prototype.init;
  prototype.init = function (this: RheaConnectionInternals, socket: unknown): unknown {
    const result = init.call(this, socket);
    if (this.is_server !== true && socket instanceof Socket) coalesceSocketWrites(socket);
    return result;
  };
  marked[INSTALLED] = true;
  return true;
}

function connectionPrototype(): RheaConnectionInternals | null {
  const createConnection: unknown = (rhea as { create_connection?: unknown }).create_connection;
  if (typeof createConnection !== "function") return null;
  // A connection object without a socket: `create_connection` does not connect.
  const probe: unknown = (createConnection as (this: unknown, options: object) => unknown).call(rhea, { reconnect: false });
  const prototype: unknown = probe === null || typeof probe !== "object" ? null : Object.getPrototypeOf(probe);
  if (prototype === null || typeof prototype !== "object") return null;
  const candidate = prototype as Partial<RheaConnectionInternals>;
  if (typeof candidate.init !== "function" || candidate.init.length !== 1) return null;
  return candidate as RheaConnectionInternals;
}
