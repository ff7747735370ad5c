import createContentSafetyClient, { isUnexpected } from "@azure-rest/ai-content-safety";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningContentSafetyEmulator, startContentSafetyEmulator } from "../../../local/contentsafety/index.js";
import { AzureContentSafety } from "../../../src/adapters/contentsafety/AzureContentSafety.js";
import { isContentSafetyUnavailable } from "../../../src/core/safety/ContentSafety.js";
import { DAN_PROMPT, INJECTED_DOCUMENT } from "../../contracts/contentSafety.contract.js";

let emulator: RunningContentSafetyEmulator;
beforeAll(async () => {
  emulator = await startContentSafetyEmulator({ key: "local-key" });
});
afterAll(async () => {
  await emulator?.stop();
});

const client = (key = "local-key") => createContentSafetyClient(emulator.endpoint, { key }, { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });

describe("the Content Safety emulator, through the unmodified @azure-rest/ai-content-safety client", () => {
  it("analyses text at the SDK's own path and default api-version, with the service's response shape", async () => {
    const response = await client().path("/text:analyze").post({ body: { text: "a calm sentence" } });
    expect(response.status).toBe("200");
    if (isUnexpected(response)) throw new Error("unexpected");
    expect(response.body.categoriesAnalysis.map((entry) => entry.category)).toEqual(["Hate", "Sexual", "Violence", "SelfHarm"]);
    expect(response.body.blocklistsMatch).toEqual([]);
  });

  it("gives eight severity levels when asked, four by default", async () => {
    const text = "text [[cs:selfharm=5]]";
    const four = await client().path("/text:analyze").post({ body: { text, categories: ["SelfHarm"] } });
    const eight = await client().path("/text:analyze").post({ body: { text, categories: ["SelfHarm"], outputType: "EightSeverityLevels" } });
    expect([four.body, eight.body]).toEqual([
      { blocklistsMatch: [], categoriesAnalysis: [{ category: "SelfHarm", severity: 4 }] },
      { blocklistsMatch: [], categoriesAnalysis: [{ category: "SelfHarm", severity: 5 }] },
    ]);
  });

  it("shields prompts at text:shieldPrompt with api-version 2024-09-01, recognising the documentation's classic attacks", async () => {
    const response = await client()
      .pathUnchecked("/text:shieldPrompt")
      .post({ body: { userPrompt: DAN_PROMPT, documents: [INJECTED_DOCUMENT, "The meeting moved to 3pm."] }, queryParameters: { "api-version": "2024-09-01" } });
    expect(response.status).toBe("200");
    expect(response.body).toEqual({ userPromptAnalysis: { attackDetected: true }, documentsAnalysis: [{ attackDetected: true }, { attackDetected: false }] });
  });

  it("refuses a wrong key with the service's 401 body, and accepts a bearer token instead of a key", async () => {
    const response = await client("wrong").path("/text:analyze").post({ body: { text: "hello" } });
    expect(response.status).toBe("401");
    expect(response.body).toMatchObject({ error: { code: "401", message: expect.stringContaining("Access denied") } });
    const bearer = await fetch(`${emulator.endpoint}/contentsafety/text:analyze?api-version=2024-09-01`, {
      method: "POST",
      headers: { authorization: "Bearer token-from-entra", "content-type": "application/json" },
      body: JSON.stringify({ text: "hello" }),
    });
    expect(bearer.status).toBe(200);
  });

  it("answers bad requests with an InvalidRequestBody error, and an unknown api-version with 404", async () => {
    const tooLong = await client().path("/text:analyze").post({ body: { text: "x".repeat(10_001) } });
    expect(tooLong.status).toBe("400");
    expect(tooLong.body).toMatchObject({ error: { code: "InvalidRequestBody", message: expect.stringContaining("10000") } });
    const empty = await client().pathUnchecked("/text:shieldPrompt").post({ body: {}, queryParameters: { "api-version": "2024-09-01" } });
    expect(empty.status).toBe("400");
    const old = await client().pathUnchecked("/text:shieldPrompt").post({ body: { userPrompt: "hi" }, queryParameters: { "api-version": "2023-10-01" } });
    expect(old.status).toBe("404");
  });

  it("obeys directives and outages, which the adapter reports as unavailable, and counts calls without keeping text", async () => {
    emulator.clearCalls();
    const safety = new AzureContentSafety({ endpoint: emulator.endpoint, key: "local-key" });
    const injected = await safety.analyzeText({ text: "hi [[cs:status=500]]", categories: ["Hate"], blocklistNames: [] }, { timeoutInMs: 2000 }).catch((error: unknown) => error);
    expect(isContentSafetyUnavailable(injected)).toBe(true);
    const slow = await safety.shieldPrompt({ userPrompt: "hi [[cs:latency=500]]", documents: [] }, { timeoutInMs: 50 }).catch((error: unknown) => error);
    expect(isContentSafetyUnavailable(slow)).toBe(true);
    emulator.setOutage({ drop: true, times: 1 });
    const dropped = await safety.shieldPrompt({ userPrompt: "hi", documents: [] }, { timeoutInMs: 2000 }).catch((error: unknown) => error);
    expect(isContentSafetyUnavailable(dropped)).toBe(true);
    expect(await safety.shieldPrompt({ userPrompt: "hi", documents: [] }, { timeoutInMs: 2000 })).toEqual({ userPromptAttack: false, documentAttacks: [] });
    expect(emulator.calls()).toEqual({ analyze: 1, shieldPrompt: 3 });
  });
});
