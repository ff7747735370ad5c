import { PalisadeError } from "../../../errors.js";
import { isRecord } from "../../../isRecord.js";
import { chatPolicyOf } from "../../../policy/operationsPolicy.js";
import { type ProjectPolicy } from "../../../policy/schema.js";
import { type InputWalk, inputFieldStrings } from "../../pipeline/inputStrings.js";
import { appendPointer, pointer } from "../../pipeline/jsonPointer.js";
import { hostsOf } from "../../../network/hostsOf.js";

/**
 * Azure On Your Data: `data_sources` (and the older `dataSources`) name a search service that Azure
 * OpenAI queries WITH THE CONVERSATION, wherever it is, and whose documents reach the model unread by
 * Palisade. A source passes only where the project lists its type in `chat.dataSources` and every host
 * it names is listed for that type: the residency holds because the owner chose the hosts.
 */
export const DATA_SOURCE_FIELDS = ["data_sources", "dataSources"] as const;

/** Where a source of each type names its hosts (parameters' fields; a Cosmos DB vCore source's host is in its connection string). */
const LOCATIONS: ReadonlyMap<string, readonly string[]> = new Map([
  ["azure_search", ["endpoint"]],
  ["elasticsearch", ["endpoint"]],
  ["mongo_db", ["endpoint"]],
  ["pinecone", ["environment"]],
  ["azure_cosmos_db", ["authentication.connection_string"]],
]);

/** Secrets the provider uses to reach the source (keys, passwords, connection strings): never content, never echoed. */
const CREDENTIALS = "authentication";

const NAMEABLE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Refuses a data source the project does not allow (403 data_source_not_allowed), or one malformed (400). Messages name fields, never values. */
export function checkDataSources(request: Readonly<Record<string, unknown>>, project: ProjectPolicy): void {
  for (const field of DATA_SOURCE_FIELDS) {
    const sources = request[field];
    if (sources === undefined || sources === null) continue;
    if (!Array.isArray(sources)) throw malformed(field, "must be a list of data sources");
    sources.forEach((source: unknown, index) => checkSource(source, `${field}[${index}]`, project));
  }
}

function checkSource(source: unknown, at: string, project: ProjectPolicy): void {
  if (!isRecord(source) || typeof source.type !== "string") throw malformed(at, "must be an object with a string type");
  const { type } = source;
  const allowed = chatPolicyOf(project).dataSources.filter((entry) => entry.type === type);
  if (allowed.length === 0) throw notAllowed(`${at}.type`, `The data source ${named(type)} is not allowed for this project`);
  const locations = LOCATIONS.get(type);
  const parameters = isRecord(source.parameters) ? source.parameters : {};
  if (locations === undefined) throw notAllowed(`${at}.type`, `Palisade cannot tell where a data source ${named(type)} sends the conversation, so it cannot hold the residency`);
  const hosts = new Set(allowed.flatMap((entry) => entry.hosts));
  for (const location of locations) checkHosts(valueAt(parameters, location), `${at}.parameters.${location}`, hosts);
  // A vector query is embedded first: by the endpoint named here, which receives the conversation too.
  const embedding = parameters.embedding_dependency;
  if (isRecord(embedding) && embedding.endpoint !== undefined) checkHosts(embedding.endpoint, `${at}.parameters.embedding_dependency.endpoint`, hosts);
}

function checkHosts(value: unknown, param: string, allowed: ReadonlySet<string>): void {
  if (typeof value !== "string" || value === "") throw malformed(param, "must name where the data source is");
  const hosts = hostsOf(value);
  if (hosts === null) throw notAllowed(param, "Palisade cannot read the host this data source names");
  if (!hosts.every((host) => allowed.has(host))) throw notAllowed(param, "The data source names a host this project does not allow");
}

/**
 * The strings of the data sources DLP reads: all but the credentials (the provider's keys to the
 * source, which the model never reads; redacting one would only break the call) and the hosts, which
 * are checked against the project's list instead. `role_information` (a system prompt), a `filter`,
 * field names: read as every other field.
 */
export function dataSourceContents(request: Readonly<Record<string, unknown>>, walk: InputWalk): void {
  for (const field of DATA_SOURCE_FIELDS) {
    const sources = request[field];
    if (!Array.isArray(sources)) continue;
    sources.forEach((source: unknown, index) => {
      if (!isRecord(source)) return;
      const at = pointer(field, index);
      inputFieldStrings(source, at, (key) => key !== "parameters", walk);
      const { parameters } = source;
      if (!isRecord(parameters)) return;
      const locations = new Set((LOCATIONS.get(String(source.type)) ?? []).filter((location) => !location.includes(".")));
      inputFieldStrings(parameters, appendPointer(at, "parameters"), (key) => key !== CREDENTIALS && key !== "embedding_dependency" && !locations.has(key), walk);
      if (isRecord(parameters.embedding_dependency)) {
        inputFieldStrings(parameters.embedding_dependency, appendPointer(at, "parameters", "embedding_dependency"), (key) => key !== CREDENTIALS && key !== "endpoint", walk);
      }
    });
  }
}

function valueAt(record: Readonly<Record<string, unknown>>, path: string): unknown {
  let value: unknown = record;
  for (const key of path.split(".")) value = isRecord(value) ? value[key] : undefined;
  return value;
}

const named = (type: string): string => (NAMEABLE.test(type) ? `"${type}"` : "of this type");

function notAllowed(param: string, why: string): PalisadeError {
  return new PalisadeError(
    403,
    "permission_error",
    "data_source_not_allowed",
    `${why}: Azure On Your Data sends the conversation to the data source, and its documents reach the model uninspected. Remove data_sources, or ask the project owner to list the source's type and hosts in chat.dataSources.`,
    { param },
  );
}

const malformed = (param: string, what: string): PalisadeError => new PalisadeError(400, "invalid_request_error", "invalid_request", `Invalid value for '${param}': ${what}.`, { param });
