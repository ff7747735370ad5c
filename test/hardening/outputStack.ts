import { type PolicyInput } from "../../src/core/policy/schema.js";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";
import { type ScriptedUpstream, startScriptedUpstream } from "./scriptedUpstream.js";

/** The output suites' upstream: a card number and a harmful text (the Content Safety emulator reads `[[cs:violence=6]]`). */
export const MODEL = "gpt-4o-mini";
export const CARD = "4111 1111 1111 1111";
/** Any trace of the card's digits in what the client got. */
export const CARD_TRACE = /4111|1111/;
export const HARM = "and then the violence began [[cs:violence=6]] and it went on";

/** A gateway in front of a scripted upstream, with a key of a project that redacts output and one that screens it (content safety, output DLP off). */
export interface OutputStack {
  readonly upstream: ScriptedUpstream;
  readonly gateway: GatewayStack<"unused">;
  readonly redactKey: string;
  readonly screenedKey: string;
  stop(): Promise<void>;
}

function policy(upstreamUrl: string): PolicyInput {
  const models = [{ name: MODEL, deployment: MODEL }];
  return {
    version: 1,
    projects: [
      { id: "acme", residency: "eu", models, maxTokens: 512 },
      {
        id: "screened",
        residency: "eu",
        models,
        maxTokens: 512,
        dlp: { output: "allow" },
        contentSafety: { categories: { violence: { threshold: 4, action: "block" } }, output: true, outputWindowChars: 100 },
      },
    ],
    serviceAccounts: [
      { id: "app", project: "acme", permissions: ["chat.completions", "responses.create"] },
      { id: "screened-app", project: "screened", permissions: ["chat.completions", "responses.create"] },
    ],
    endpoints: [
      { id: "scripted", provider: "azure", baseUrl: upstreamUrl, region: "westeurope", residency: "eu", class: "standard", deployments: [MODEL], operations: ["chat", "responses"], auth: { kind: "none" }, timeoutInMs: 5_000 },
    ],
  };
}

export async function startOutputStack(): Promise<OutputStack> {
  const upstream = await startScriptedUpstream();
  const gateway = await startGatewayStack({ upstreams: { unused: { name: "unused", region: "westeurope" } }, policy: () => policy(upstream.url) });
  const [redactKey, screenedKey] = await Promise.all([gateway.createKey("acme", "app"), gateway.createKey("screened", "screened-app")]);
  return {
    upstream,
    gateway,
    redactKey,
    screenedKey,
    stop: async () => {
      await gateway.stop();
      await upstream.stop();
    },
  };
}
