import { z } from "zod";
import { DEFAULT_ENDPOINT_OPERATIONS } from "../policy/operationsPolicy.js";
import { type EndpointAuth, type EndpointPolicy, type Policy } from "../policy/schema.js";

/**
 * What the policy trail compares between versions: the version (SHA-256 of the policy text), each
 * project's models (name -> deployment) and each endpoint's governance-relevant settings.
 */
export const POLICY_SNAPSHOT_FORMAT = "palisade-policy-snapshot/v1";

/**
 * Every endpoint setting, and whether the trail compares it. A `Record` over the schema's keys: a new
 * endpoint setting does not compile until someone decides whether its changes are recorded.
 * `id` names the endpoint (a new id is an endpoint added); `timeoutInMs` tunes availability and
 * decides nothing about where data goes or who may send it.
 */
export const ENDPOINT_TRAIL_FIELDS: Readonly<Record<keyof EndpointPolicy, "compared" | "not compared">> = {
  id: "not compared",
  provider: "compared",
  baseUrl: "compared",
  region: "compared",
  residency: "compared",
  class: "compared",
  deployments: "compared",
  priority: "compared",
  apiVersion: "compared",
  auth: "compared",
  operations: "compared",
  timeoutInMs: "not compared",
};

const endpointSnapshotSchema = z
  .object({
    provider: z.string(),
    baseUrl: z.string(),
    region: z.string(),
    residency: z.string(),
    class: z.string(),
    deployments: z.array(z.string()),
    priority: z.number(),
    // Optional: snapshots written before they were recorded lack them (then they are not compared).
    apiVersion: z.string().optional(),
    /** `managed-identity`, `none` or `key-vault-secret:<secret name>` (a name, never a secret). */
    auth: z.string().optional(),
    /** The operations served, the default written out, sorted. */
    operations: z.array(z.string()).optional(),
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

const authOf = (auth: EndpointAuth): string => (auth.kind === "key-vault-secret" ? `${auth.kind}:${auth.secretName}` : auth.kind);

export function endpointSnapshotOf(endpoint: EndpointPolicy): EndpointSnapshot {
  return {
    provider: endpoint.provider,
    baseUrl: endpoint.baseUrl,
    region: endpoint.region,
    residency: endpoint.residency,
    class: endpoint.class,
    deployments: [...endpoint.deployments].sort(),
    priority: endpoint.priority,
    apiVersion: endpoint.apiVersion,
    auth: authOf(endpoint.auth),
    operations: [...(endpoint.operations ?? DEFAULT_ENDPOINT_OPERATIONS)].sort(),
  };
}

export function snapshotOf(policy: Policy, version: string): PolicySnapshot {
  const models: Record<string, Record<string, string>> = {};
  for (const project of policy.projects) models[project.id] = Object.fromEntries(project.models.map((m) => [m.name, m.deployment]));
  const endpoints: Record<string, EndpointSnapshot> = {};
  for (const endpoint of policy.endpoints) endpoints[endpoint.id] = endpointSnapshotOf(endpoint);
  return { format: POLICY_SNAPSHOT_FORMAT, version, models, endpoints };
}
