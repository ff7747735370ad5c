import { type EndpointPolicy, type Policy, type PolicyInput, policySchema, type ProjectPolicy } from "../../../src/core/policy/schema.js";

type EndpointInput = Partial<EndpointPolicy> & Pick<EndpointPolicy, "id" | "residency" | "class">;

export function endpoint(input: EndpointInput): PolicyInput["endpoints"][number] {
  return {
    provider: "azure",
    baseUrl: `https://${input.id}.openai.azure.com`,
    region: `${input.residency}-region`,
    deployments: ["gpt-4o-2024-08-06"],
    ...input,
  };
}

const ANCHOR_ID = "zz-anchor";

/**
 * A validated policy (defaults applied) with one project per residency and exactly `endpoints`. An anchor
 * endpoint satisfies the schema's "every model is served" rule during parsing and is removed after.
 */
export function policyWith(endpoints: readonly PolicyInput["endpoints"][number][], overrides: Partial<PolicyInput> = {}): Policy {
  const parsed = policySchema.parse({
    version: 1,
    projects: (["eu", "us", "apac", "global"] as const).map((residency) => ({
      id: `project-${residency}`,
      residency,
      models: [{ name: "gpt-4o", deployment: "gpt-4o-2024-08-06" }],
    })),
    endpoints: [...endpoints, endpoint({ id: ANCHOR_ID, residency: "eu", class: "zdr" })],
    ...overrides,
  });
  return { ...parsed, endpoints: parsed.endpoints.filter((candidate) => candidate.id !== ANCHOR_ID) };
}

export function projectOf(policy: Policy, residency: ProjectPolicy["residency"]): ProjectPolicy {
  const project = policy.projects.find((candidate) => candidate.residency === residency);
  if (project === undefined) throw new Error(`no ${residency} project`);
  return project;
}

export const breakerPolicy = { consecutiveFailures: 3, errorRateThreshold: 0.5, windowInMs: 60_000, minimumRequests: 10, cooldownInMs: 30_000 };
