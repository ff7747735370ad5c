import { type Sender } from "rhea";
import { type LinkConsumer } from "./linkConsumer.js";

/** What the broker keeps per client connection: its tokens, its reply links and its receivers. */
export class ConnectionState {
  /** Entity paths (lower case, "" for the namespace) this connection holds a token for, with expiry. */
  private readonly authorizations = new Map<string, number>();
  /** Reply links by link name and target address, for $cbs and $management responses. */
  readonly replyLinks = new Map<string, Sender>();
  readonly consumers = new Set<LinkConsumer>();

  authorize(entityPath: string, expiresAtMs: number): void {
    this.authorizations.set(entityPath, expiresAtMs);
  }

  /** Whether a token that has not expired covers `entityPath` (the path itself, a parent, or the namespace). */
  isAuthorized(entityPath: string, nowMs: number): boolean {
    for (const [path, expiresAtMs] of this.authorizations) {
      if (expiresAtMs <= nowMs) continue;
      if (path === "" || entityPath === path || entityPath.startsWith(`${path}/`)) return true;
    }
    return false;
  }

  /** The receiver went away: it takes no more messages and lets go of its session. */
  dropConsumer(consumer: LinkConsumer): void {
    consumer.closed = true;
    consumer.queue.removeConsumer(consumer);
    this.consumers.delete(consumer);
  }
}
