import { type Message, type Sender } from "rhea";
import { type ManagementResponse } from "./management.js";

/**
 * Answers a $cbs or $management request on the client's reply link (found by the request's
 * `reply_to`): `correlation_id` = the request's `message_id`, the status in both spellings the SDK
 * reads (`statusCode` for peek, `status-code` elsewhere).
 */
export function sendReply(replyLinks: ReadonlyMap<string, Sender>, request: Message, response: ManagementResponse): void {
  const replyTo = (request as { reply_to?: unknown }).reply_to;
  if (typeof replyTo !== "string") return;
  const link = replyLinks.get(replyTo);
  if (!link) return;
  const applicationProperties: Record<string, unknown> = {
    statusCode: response.statusCode,
    "status-code": response.statusCode,
    statusDescription: response.description,
    "status-description": response.description,
  };
  if (response.errorCondition) {
    applicationProperties.errorCondition = response.errorCondition;
    applicationProperties["error-condition"] = response.errorCondition;
  }
  const message: Record<string, unknown> = {
    to: replyTo,
    correlation_id: (request as { message_id?: unknown }).message_id,
    application_properties: applicationProperties,
  };
  if (response.body !== undefined) message.body = response.body;
  link.send(message as unknown as Message);
}
