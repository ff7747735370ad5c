import { describe, expect, it } from "vitest";
import { PalisadeError } from "../../../src/core/errors.js";
import { type InputCheck, type InputCheckInput } from "../../../src/core/gateway/pipeline/PipelineDeps.js";
import { CARD, gatewayHarness, jsonResponse, refusalOf } from "./gatewayHarness.js";

/** Stages plugged in between classify and limit (content safety's place) see the inspected contents. */
describe("GovernedPipeline: input checks between classify and limit", () => {
  it("see the contents as they would go upstream (redacted), and may raise the class", async () => {
    const seen: InputCheckInput[] = [];
    const raise: InputCheck = {
      name: "raise",
      check: async (input) => {
        seen.push(input);
        return { raiseClassTo: "pii" };
      },
    };
    const h = await gatewayHarness({ checks: [raise] });
    const response = jsonResponse(await h.service.handle(h.request({ content: `card ${CARD}` })));
    expect(seen.map((input) => [input.operation, input.dataClass, input.project.id])).toEqual([["chat.completions", "internal", "acme"]]);
    expect(seen[0]?.contents.map((field) => field.text)).toEqual(["card [CREDIT_CARD_1]"]);
    // Raised to pii: only zero-data-retention endpoints serve it.
    expect(response.headers["x-palisade-classification"]).toBe("pii");
    expect(response.headers["x-palisade-endpoint-class"]).toBe("zdr");
  });

  it("refuse by throwing: the refusal is recorded, nothing is reserved or sent upstream", async () => {
    const refuse: InputCheck = {
      name: "refuse",
      check: async () => {
        throw new PalisadeError(422, "invalid_request_error", "sensitive_data_detected", "A check refused the prompt.");
      },
    };
    const h = await gatewayHarness({ checks: [refuse], project: { limits: { requestsPerMinute: 1 } } });
    const error = await refusalOf(h.service.handle(h.request()));
    expect(error.code).toBe("sensitive_data_detected");
    expect(h.provider.calls).toHaveLength(0);
    expect(h.audit.events.map((event) => event.type)).toEqual(["pii_detected"]);
  });
});
