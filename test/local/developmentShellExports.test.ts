import { describe, expect, it } from "vitest";
import { developmentShellExports } from "../../local/developmentShellExports.js";

describe("developmentShellExports (what npm start prints to paste into a shell)", () => {
  const exported = developmentShellExports({ hostUrl: "http://127.0.0.1:7071/api", apiKey: "pal_key1_secret", stackEnvironment: { AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true" }, policyPath: "config/policy.sample.yaml" });

  it("sets what OpenAI clients read with no options: OPENAI_BASE_URL and OPENAI_API_KEY", () => {
    expect(exported.OPENAI_BASE_URL).toBe("http://127.0.0.1:7071/api/v1");
    expect(exported.OPENAI_API_KEY).toBe("pal_key1_secret");
    expect(exported.PALISADE_API_KEY).toBe("pal_key1_secret");
  });

  it("keeps the stack's settings and the policy path, base URL first", () => {
    expect(exported.AZURE_STORAGE_CONNECTION_STRING).toBe("UseDevelopmentStorage=true");
    expect(exported.PALISADE_POLICY).toBe("config/policy.sample.yaml");
    expect(Object.keys(exported)[0]).toBe("OPENAI_BASE_URL");
  });
});
