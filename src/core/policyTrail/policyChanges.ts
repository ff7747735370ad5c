import { SYSTEM_CHAIN_ID } from "../audit/AuditEvent.js";
import { type Policy } from "../policy/schema.js";
import { ENDPOINT_TRAIL_FIELDS, type EndpointSnapshot, type PolicySnapshot, snapshotOf } from "./PolicySnapshot.js";

/** One change, as the fields of its audit event (the caller stamps id, time, actor and version). */
export interface PolicyChange {
  readonly type: "policy_changed" | "model_changed";
  /** The chain: the project for model changes, `_system` for the policy and its endpoints. */
  readonly project: string;
  /** `policy_initial`, `policy_updated`, `model_added|removed|remapped`, `endpoint_added|removed|changed`. */
  readonly reason: string;
  readonly details: Readonly<Record<string, string | number | boolean | null>>;
  /** Stable within one version change: part of the event's deterministic id. */
  readonly key: string;
}

const sortedKeys = (...records: readonly Readonly<Record<string, unknown>>[]): string[] => [...new Set(records.flatMap((r) => Object.keys(r)))].sort();

/** The snapshot fields compared, in the order `changedFields` names them (ENDPOINT_TRAIL_FIELDS decides which). */
const COMPARED_FIELDS = (Object.keys(ENDPOINT_TRAIL_FIELDS) as (keyof typeof ENDPOINT_TRAIL_FIELDS)[]).filter(
  (field): field is keyof EndpointSnapshot => ENDPOINT_TRAIL_FIELDS[field] === "compared",
);

function endpointDetails(id: string, endpoint: EndpointSnapshot): Record<string, string | number> {
  return {
    endpointId: id,
    provider: endpoint.provider,
    region: endpoint.region,
    residency: endpoint.residency,
    class: endpoint.class,
    deployments: endpoint.deployments.join(","),
    priority: endpoint.priority,
    ...(endpoint.operations === undefined ? {} : { operations: endpoint.operations.join(",") }),
    ...(endpoint.auth === undefined ? {} : { auth: endpoint.auth }),
    ...(endpoint.apiVersion === undefined ? {} : { apiVersion: endpoint.apiVersion }),
  };
}

/**
 * The compared fields whose value differs. A field the previous snapshot lacks (written before the
 * trail recorded it) has no known old value and is not reported.
 */
function changedFields(before: EndpointSnapshot, after: EndpointSnapshot): string[] {
  return COMPARED_FIELDS.filter((field) => before[field] !== undefined && JSON.stringify(before[field]) !== JSON.stringify(after[field]));
}

/** What a changed field was, for the fields that fit on one line of the event. */
function previousValues(before: EndpointSnapshot, fields: readonly string[]): Record<string, string | number> {
  const values: Record<string, string | number> = {};
  for (const field of fields as (keyof EndpointSnapshot)[]) {
    const value = before[field];
    if (value !== undefined) values[`from${field.charAt(0).toUpperCase()}${field.slice(1)}`] = Array.isArray(value) ? value.join(",") : value;
  }
  return values;
}

/**
 * The audit events a new policy version calls for, compared with the last snapshot: one
 * `policy_changed` for the version itself, one `model_changed` per project model added, removed or
 * remapped to another deployment (on that project's chain), and one `policy_changed` per endpoint
 * added, removed or changed. Nothing when the version is the one already recorded.
 */
export function policyChanges(previous: PolicySnapshot | null, current: Policy, version: string): PolicyChange[] {
  if (previous !== null && previous.version === version) return [];
  const next = snapshotOf(current, version);
  if (previous === null) {
    return [
      {
        type: "policy_changed",
        project: SYSTEM_CHAIN_ID,
        reason: "policy_initial",
        details: { fromVersion: null, toVersion: version, projects: Object.keys(next.models).length, endpoints: Object.keys(next.endpoints).length },
        key: "policy",
      },
    ];
  }
  const changes: PolicyChange[] = [
    { type: "policy_changed", project: SYSTEM_CHAIN_ID, reason: "policy_updated", details: { fromVersion: previous.version, toVersion: version }, key: "policy" },
  ];
  for (const project of sortedKeys(previous.models, next.models)) {
    const before = previous.models[project] ?? {};
    const after = next.models[project] ?? {};
    for (const model of sortedKeys(before, after)) {
      const from = before[model];
      const to = after[model];
      if (from === to) continue;
      const reason = from === undefined ? "model_added" : to === undefined ? "model_removed" : "model_remapped";
      changes.push({
        type: "model_changed",
        project,
        reason,
        details: { model, fromDeployment: from ?? null, deployment: to ?? null, fromVersion: previous.version, toVersion: version },
        key: `model:${project}:${model}`,
      });
    }
  }
  for (const id of sortedKeys(previous.endpoints, next.endpoints)) {
    const before = previous.endpoints[id];
    const after = next.endpoints[id];
    if (before === undefined && after !== undefined) {
      changes.push({ type: "policy_changed", project: SYSTEM_CHAIN_ID, reason: "endpoint_added", details: endpointDetails(id, after), key: `endpoint:${id}` });
    } else if (before !== undefined && after === undefined) {
      changes.push({ type: "policy_changed", project: SYSTEM_CHAIN_ID, reason: "endpoint_removed", details: endpointDetails(id, before), key: `endpoint:${id}` });
    } else if (before !== undefined && after !== undefined) {
      const changed = changedFields(before, after);
      if (changed.length > 0) {
        changes.push({
          type: "policy_changed",
          project: SYSTEM_CHAIN_ID,
          reason: "endpoint_changed",
          details: { ...endpointDetails(id, after), changedFields: changed.join(","), ...previousValues(before, changed) },
          key: `endpoint:${id}`,
        });
      }
    }
  }
  return changes;
}
