import { APIError } from "openai";
import { expect } from "vitest";
import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { queryAuditEvents } from "../../src/core/audit/queryAuditEvents.js";

/** The `APIError` a call through the `openai` client failed with (asserting it failed so). */
export async function apiErrorOf(promise: Promise<unknown>): Promise<APIError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(APIError);
  return error as APIError;
}

/** The first event of a chain that matches, once the audit append has written it (undefined after the timeout). */
export async function waitForEvent(chainId: string, matches: (event: AuditEvent) => boolean, timeoutInMs = 20_000): Promise<AuditEvent | undefined> {
  const { getAppServices } = await import("../../src/composition/appServices.js");
  const services = await getAppServices();
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    for await (const event of queryAuditEvents(services.audit.ledger, { chainId })) if (matches(event)) return event;
    if (Date.now() > deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
