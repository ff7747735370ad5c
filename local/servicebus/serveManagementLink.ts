import { randomUUID } from "node:crypto";
import { type EventContext, type Receiver } from "rhea";
import { amqpMessage } from "./amqp.js";
import { type ConnectionState } from "./connectionState.js";
import { handleManagementRequest, type ManagementResponse } from "./management.js";
import { type QueueEntity } from "./queue.js";
import { sendReply } from "./sendReply.js";
import { type OperationTally } from "../operationTally.js";

/** Serves the requests on an entity's `$management` link (renew-lock, peek, schedule, session state, ...). */
export function serveManagementLink(
  receiver: Receiver,
  address: string,
  queue: QueueEntity,
  state: ConnectionState,
  tally: OperationTally,
): void {
  receiver.set_target({ address });
  receiver.on("message", (context: EventContext) => {
    context.delivery?.update(true, amqpMessage.accepted().described());
    const request = context.message;
    if (!request) return;
    const properties = (request.application_properties ?? {}) as Record<string, unknown>;
    const body = (request.body !== null && typeof request.body === "object" ? request.body : {}) as Record<string, unknown>;
    const operation = typeof properties.operation === "string" ? properties.operation : undefined;
    tally.count(`management.${operation === undefined ? "unknown" : operation.replace(/^com\.microsoft:/, "")}`);
    let response: ManagementResponse;
    try {
      response = handleManagementRequest(queue, operation ?? "", body, randomUUID);
    } catch {
      response = { statusCode: 500, description: "The emulator failed to handle the request.", errorCondition: "amqp:internal-error" };
    }
    sendReply(state.replyLinks, request, response);
  });
}
