import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classify, dataClassRank, dlpClassFor } from "../../../src/core/routing/classify.js";
import { parseDataClassHeader, parseResidencyHeader } from "../../../src/core/routing/parseRoutingHeaders.js";
import { DATA_CLASSES } from "../../../src/core/policy/schema.js";
import { isPalisadeError } from "../../../src/core/errors.js";
import { createChatOperation } from "../../../src/core/gateway/operations/chat/chatOperation.js";
import { inspectInput } from "../../../src/core/gateway/pipeline/inspectInput.js";
import { FakeCompletionProvider } from "../../fakes/FakeCompletionProvider.js";
import { gatewayPolicy } from "../gateway/gatewayHarness.js";

/** The gateway fixture's first project (default DLP actions), whose class decision is tested below. */
function routingDecisionPolicy() {
  const project = gatewayPolicy().projects[0];
  if (project === undefined) throw new Error("the gateway fixture has no project");
  return project;
}

describe("classify", () => {
  it("uses the declared class, else the project's default", () => {
    expect(classify({ declared: "confidential", projectDefault: "internal", dlpRaisedTo: null })).toBe("confidential");
    expect(classify({ declared: undefined, projectDefault: "internal", dlpRaisedTo: null })).toBe("internal");
  });

  it("is raised by DLP findings, never lowered", () => {
    expect(classify({ declared: "public", projectDefault: "internal", dlpRaisedTo: "pii" })).toBe("pii");
    expect(classify({ declared: "phi", projectDefault: "internal", dlpRaisedTo: "pii" })).toBe("phi");
    expect(classify({ declared: undefined, projectDefault: "public", dlpRaisedTo: "confidential" })).toBe("confidential");
  });

  it("always returns the more sensitive of the base class and the DLP class", () => {
    const dataClass = fc.constantFrom(...DATA_CLASSES);
    fc.assert(
      fc.property(fc.option(dataClass, { nil: undefined }), dataClass, fc.option(dataClass, { nil: null }), (declared, projectDefault, dlpRaisedTo) => {
        const result = classify({ declared, projectDefault, dlpRaisedTo });
        const base = declared ?? projectDefault;
        expect(dataClassRank(result)).toBeGreaterThanOrEqual(dataClassRank(base));
        if (dlpRaisedTo !== null) expect(dataClassRank(result)).toBeGreaterThanOrEqual(dataClassRank(dlpRaisedTo));
        expect([base, dlpRaisedTo]).toContain(result);
      }),
    );
  });

  it("orders public < internal < confidential < pii < phi", () => {
    expect(["phi", "public", "pii", "internal", "confidential"].sort((a, b) => dataClassRank(a as never) - dataClassRank(b as never))).toEqual([
      "public",
      "internal",
      "confidential",
      "pii",
      "phi",
    ]);
  });
});

describe("dlpClassFor", () => {
  it("is null for no findings", () => {
    expect(dlpClassFor([])).toBeNull();
  });

  it.each(["CREDIT_CARD", "US_SSN", "IBAN_CODE", "EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS"])("raises %s to pii", (type) => {
    expect(dlpClassFor([type])).toBe("pii");
  });

  it("raises an API key alone to confidential, and with personal data to pii", () => {
    expect(dlpClassFor(["API_KEY"])).toBe("confidential");
    expect(dlpClassFor(["API_KEY", "API_KEY"])).toBe("confidential");
    expect(dlpClassFor(["API_KEY", "EMAIL_ADDRESS"])).toBe("pii");
  });

  it("treats an unknown entity type as personal data", () => {
    expect(dlpClassFor(["SOMETHING_NEW"])).toBe("pii");
    expect(dlpClassFor(["toString"])).toBe("pii");
  });
});

describe("routing headers", () => {
  it("parses known values case-insensitively and passes absence through", () => {
    expect(parseDataClassHeader(undefined)).toBeUndefined();
    expect(parseDataClassHeader(" PII ")).toBe("pii");
    expect(parseDataClassHeader("public")).toBe("public");
    expect(parseResidencyHeader(undefined)).toBeUndefined();
    expect(parseResidencyHeader("EU")).toBe("eu");
  });

  it.each([
    [parseDataClassHeader, "x-data-classification", "secret", "public, internal, confidential, pii, phi"],
    [parseDataClassHeader, "x-data-classification", "", "public, internal, confidential, pii, phi"],
    [parseResidencyHeader, "x-palisade-residency", "mars", "eu, us, apac, global"],
  ] as const)("rejects an unknown value with a 400 naming the header (%#)", (parse, header, value, listed) => {
    let thrown: unknown;
    try {
      parse(value);
    } catch (error) {
      thrown = error;
    }
    expect(isPalisadeError(thrown)).toBe(true);
    expect(thrown).toMatchObject({ status: 400, code: "invalid_request", param: header });
    expect((thrown as Error).message).toContain(listed);
  });
});

describe("classify after DLP: the class follows what is sent (issue 18 item 11, docs/routing.md section 1)", () => {
  const policy = routingDecisionPolicy();
  const clock = { nowInMs: () => 0 };
  const prompt = { model: "gpt-4o", messages: [{ role: "user" as const, content: "mail me at jane.doe@example.com" }] };
  const classOf = (action: "redact" | "allow" | "route"): { dataClass: string; sent: string } => {
    const project = { ...policy, dlp: { ...policy.dlp, input: { ...policy.dlp.input, internal: action } } };
    const inspected = inspectInput(createChatOperation(new FakeCompletionProvider()), prompt, project, "internal", clock);
    return { dataClass: classify({ declared: undefined, projectDefault: "internal", dlpRaisedTo: inspected.raisedTo }), sent: JSON.stringify(inspected.request.messages) };
  };

  it("redacted findings raise nothing: the value never leaves, so the request keeps its class", () => {
    const { dataClass, sent } = classOf("redact");
    expect(sent).not.toContain("jane.doe@example.com");
    expect(dataClass).toBe("internal");
  });

  it.each(["allow", "route"] as const)("findings sent as they are (%s) raise the class to pii", (action) => {
    const { dataClass, sent } = classOf(action);
    expect(sent).toContain("jane.doe@example.com");
    expect(dataClass).toBe("pii");
  });
});
