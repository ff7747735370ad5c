import { type Typed } from "rhea";
import { amqpMessage, amqpTypes } from "./amqp.js";
import { lockTokenFromBytes, lockTokenToBytes } from "./lockToken.js";
import { StoredMessage } from "./messageCodec.js";
import { type QueueEntity, type QueueMessage, type Settlement } from "./queue.js";

/**
 * The `<entity>/$management` request/response operations the SDK uses: renew-lock, peek,
 * update-disposition, receive-by-sequence-number, schedule/cancel, and session lock and state.
 */

export interface ManagementResponse {
  readonly statusCode: number;
  readonly description: string;
  readonly errorCondition?: string;
  readonly body?: unknown;
}

type Body = Readonly<Record<string, unknown>>;

function ok(body?: unknown): ManagementResponse {
  return { statusCode: 200, description: "OK", body };
}

function failure(statusCode: number, errorCondition: string, description: string): ManagementResponse {
  return { statusCode, description, errorCondition };
}

function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (Buffer.isBuffer(value) && value.length === 8) return Number(value.readBigInt64BE(0));
  if (typeof value === "bigint") return Number(value);
  return Number.NaN;
}

function toNumbers(value: unknown): number[] {
  return Array.isArray(value) ? value.map(toNumber) : [];
}

function tokensOf(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is Buffer => Buffer.isBuffer(item) && item.length === 16).map(lockTokenFromBytes);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function optionalMap(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !Buffer.isBuffer(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** A queued message as its encoded bytes, as peek and receive-by-sequence-number return it. */
export function encodeQueued(message: QueueMessage): Buffer {
  return message.stored.encode({
    sequenceNumber: message.sequenceNumber,
    enqueuedAtMs: message.enqueuedAtMs,
    lockedUntilMs: message.lock?.lockedUntilMs,
    state: message.stateCode,
    deliveryCount: message.deliveryCount,
  });
}

const LOCK_LOST = "com.microsoft:message-lock-lost";

export function handleManagementRequest(
  queue: QueueEntity,
  operation: string,
  body: Body,
  newMessageId: () => string,
): ManagementResponse {
  switch (operation) {
    case "com.microsoft:renew-lock": {
      const expirations: number[] = [];
      for (const token of tokensOf(body["lock-tokens"])) {
        const until = queue.renewLock(token);
        if (until === undefined) {
          return failure(410, LOCK_LOST, "The lock supplied is invalid: it expired, or the message was already settled.");
        }
        expirations.push(until);
      }
      return ok({ expirations: amqpTypes.wrap_array(expirations, 0x83, undefined) });
    }
    case "com.microsoft:peek-message": {
      const from = toNumber(body["from-sequence-number"]);
      const count = toNumber(body["message-count"]);
      if (!Number.isFinite(from) || !Number.isFinite(count) || count < 1) {
        return failure(400, "amqp:invalid-field", "Peek needs a from-sequence-number and a message-count of at least 1.");
      }
      const found = queue.peek(from, count, optionalString(body["session-id"]));
      if (found.length === 0) return { statusCode: 204, description: "No messages to peek." };
      return ok({ messages: found.map((message) => ({ message: encodeQueued(message) })) });
    }
    case "com.microsoft:update-disposition": {
      const settlement = settlementOf(body);
      if (!settlement) {
        return failure(400, "amqp:invalid-field", "Unknown disposition-status: use completed, abandoned, defered or suspended.");
      }
      for (const token of tokensOf(body["lock-tokens"])) {
        if (queue.settle(token, settlement) === "lockLost") {
          return failure(410, LOCK_LOST, "The lock supplied is invalid: it expired, or the message was already settled.");
        }
      }
      return ok();
    }
    case "com.microsoft:receive-by-sequence-number": {
      const mode = toNumber(body["receiver-settle-mode"]) === 0 ? "receiveAndDelete" : "peekLock";
      try {
        const received = queue.receiveDeferred(toNumbers(body["sequence-numbers"]), mode, optionalString(body["session-id"]));
        return ok({
          messages: received.map(({ message, lockToken }) => {
            const entry: Record<string, unknown> = { message: encodeQueued(message) };
            if (lockToken) entry["lock-token"] = amqpTypes.wrap_uuid(lockTokenToBytes(lockToken));
            return entry;
          }),
        });
      } catch (error) {
        const text = error instanceof Error ? error.message : "";
        if (text.startsWith("locked:")) {
          return failure(400, "com.microsoft:message-lock-lost", "The deferred message is locked by another receive.");
        }
        return failure(404, "com.microsoft:message-not-found", "No deferred message with that sequence number: only deferred messages can be received by sequence number.");
      }
    }
    case "com.microsoft:schedule-message": {
      const entries = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
      const stored: StoredMessage[] = [];
      for (const entry of entries) {
        const bytes = optionalMap(entry)?.message;
        if (!Buffer.isBuffer(bytes)) return failure(400, "amqp:invalid-field", "Each scheduled entry needs its encoded message.");
        const message = StoredMessage.fromWire(amqpMessage.decode(bytes), bytes, newMessageId);
        const refusal = queue.refusal(message);
        if (refusal) return failure(400, "amqp:not-allowed", refusal);
        stored.push(message);
      }
      const sequenceNumbers = stored.map((message) =>
        queue.schedule(message, message.scheduledEnqueueTimeMs ?? 0),
      );
      return ok({ "sequence-numbers": amqpTypes.wrap_array(sequenceNumbers, 0x81, undefined) });
    }
    case "com.microsoft:cancel-scheduled-message":
      queue.cancelScheduled(toNumbers(body["sequence-numbers"]));
      return ok();
    case "com.microsoft:renew-session-lock": {
      const sessionId = optionalString(body["session-id"]) ?? "";
      const until = queue.renewSessionLock(sessionId);
      if (until === undefined) {
        return failure(410, "com.microsoft:session-lock-lost", "The session lock was lost: accept the session again.");
      }
      return ok({ expiration: amqpTypes.wrap_timestamp(until) });
    }
    case "com.microsoft:set-session-state": {
      const state = body["session-state"];
      queue.setSessionState(optionalString(body["session-id"]) ?? "", Buffer.isBuffer(state) ? Buffer.from(state) : undefined);
      return ok();
    }
    case "com.microsoft:get-session-state": {
      const state = queue.getSessionState(optionalString(body["session-id"]) ?? "");
      const value: Typed | null = state ? amqpTypes.wrap_binary(state) : null;
      return ok({ "session-state": value });
    }
    default:
      return failure(501, "amqp:not-implemented", `The emulator does not implement the management operation '${operation}'.`);
  }
}

function settlementOf(body: Body): Settlement | undefined {
  const propertiesToModify = optionalMap(body["properties-to-modify"]);
  switch (body["disposition-status"]) {
    case "completed":
      return { kind: "complete" };
    case "abandoned":
      return { kind: "abandon", propertiesToModify };
    case "defered":
      return { kind: "defer", propertiesToModify };
    case "suspended":
      return {
        kind: "deadLetter",
        reason: optionalString(body["deadletter-reason"]),
        description: optionalString(body["deadletter-description"]),
        propertiesToModify,
      };
    default:
      return undefined;
  }
}
