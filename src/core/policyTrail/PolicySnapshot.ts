import { z } from "zod";
import { type Policy } from "../policy/schema.js";

/**
 * What the policy trail compares between versions: the version (SHA-256 of the policy text), each
 * project's models (name -> deployment) and each endpoint's routing-relevant settings.
 */
export const POLICY_SNAPSHOT_FORMAT = "palisade-policy-snapshot/v1";

const endpointSnapshotSchema = z
  .object({
    provider: z.string(),
    baseUrl: z.string(),
    region: z.string(),
    residency: z.string(),
    class: z.string(),
    deployments: z.array(z.string()),
    priority: z.number(),
  })
  .strict();

export const policySnapshotSchema = z
  .object({
    format: z.literal(POLICY_SNAPSHOT_FORMAT),
    version: z.string().min(1),
    models: z.record(z.string(), z.record(z.string(), z.string())),
    endpoints: z.record(z.string(), endpointSnapshotSchema),
  })
  .strict();

export type PolicySnapshot = z.infer<typeof policySnapshotSchema>;
export type EndpointSnapshot = z.infer<typeof endpointSnapshotSchema>;

export function snapshotOf(policy: Policy, version: string): PolicySnapshot {
  const models: Record<string, Record<string, string>> = {};
  for (const project of policy.projects) models[project.id] = Object.fromEntries(project.models.map((m) => [m.name, m.deployment]));
  const endpoints: Record<string, EndpointSnapshot> = {};
  for (const endpoint of policy.endpoints) {
    endpoints[endpoint.id] = {
      provider: endpoint.provider,
      baseUrl: endpoint.baseUrl,
      region: endpoint.region,
      residency: endpoint.residency,
      class: endpoint.class,
      deployments: [...endpoint.deployments].sort(),
      priority: endpoint.priority,
    };
  }
  return { format: POLICY_SNAPSHOT_FORMAT, version, models, endpoints };
}
