import { type EventContext, type Receiver } from "rhea";
import { amqpMessage } from "./amqp.js";
import { handleCbsRequest } from "./cbs.js";
import { type ConnectionState } from "./connectionState.js";
import { type SasKey } from "./sas.js";
import { sendReply } from "./sendReply.js";
import { type OperationTally } from "../operationTally.js";

/** Serves put-token requests on a connection's `$cbs` link: a good token authorizes its path on the connection. */
export function serveCbsLink(receiver: Receiver, state: ConnectionState, sasKey: SasKey, tally: OperationTally): void {
  receiver.set_target({ address: "$cbs" });
  receiver.on("message", (context: EventContext) => {
    context.delivery?.update(true, amqpMessage.accepted().described());
    const request = context.message;
    if (!request) return;
    tally.count("cbs");
    const response = handleCbsRequest(request, sasKey, Date.now());
    if (response.authorizedPath !== undefined && response.expiresAtMs !== undefined) {
      state.authorize(response.authorizedPath, response.expiresAtMs);
    }
    sendReply(state.replyLinks, request, {
      statusCode: response.statusCode,
      description: response.description,
      errorCondition: response.errorCondition,
    });
  });
}
