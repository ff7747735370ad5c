/**
 * USD per million governed requests on Azure list prices, from what the deployed-shape bench counts:
 * the instance's CPU per request (HTTP path plus its share of audit appends and timers) and the
 * round trips per request by kind, counted at the emulators. Assumptions (docs/benchmarks.md):
 * - pay-as-you-go list prices, East US, in USD, without free grants or reservations (below);
 * - Functions Flex Consumption, on-demand, 2,048 MB instances. It bills memory x the time an instance
 *   is executing. `busy` assumes a loaded instance whose executions overlap, so the billed time of a
 *   request is its CPU time (the lower bound); `serial` bills each request's whole latency (the
 *   upper bound, one request at a time);
 * - Service Bus Standard, operations between 13 M and 100 M a month; every counted AMQP operation
 *   (send, delivery, settlement, management call) is billed as one operation (an upper bound);
 * - Table Storage (LRS): every HTTP call one transaction, an entity-group transaction included;
 * - Key Vault Standard: secret operations, and ES256 signatures billed as advanced key operations.
 */
export const AZURE_LIST_PRICES_USD = {
  flexGbSecond: 0.000026,
  flexPerMillionExecutions: 0.4,
  flexInstanceGb: 2.048,
  serviceBusPerMillionOperations: 0.8,
  tablePer10kTransactions: 0.00036,
  keyVaultPer10kOperations: 0.03,
  keyVaultPer10kAdvancedKeyOperations: 0.15,
} as const;

export interface CostInputs {
  /** Instance CPU per request, HTTP path and appends together, in µs. */
  readonly instanceCpuMicrosPerRequest: number;
  /** A request's latency through the gateway at one caller, in ms (the `serial` bound). */
  readonly serialLatencyMs: number;
  /** Function executions per request: the HTTP call plus its share of trigger and timer runs. */
  readonly executionsPerRequest: number;
  /** Round trips per request by kind, as the emulators and the Table proxy count them. */
  readonly operationsPerRequest: Readonly<Record<string, number>>;
}

export interface CostPerMillion {
  readonly computeBusyUsd: number;
  readonly computeSerialUsd: number;
  readonly executionsUsd: number;
  readonly serviceBusUsd: number;
  readonly tableUsd: number;
  readonly keyVaultUsd: number;
  /** Everything, compute at the `busy` bound. */
  readonly totalBusyUsd: number;
  readonly totalSerialUsd: number;
}

const sumOf = (operations: Readonly<Record<string, number>>, prefix: string, exclude: (kind: string) => boolean = () => false): number =>
  Object.entries(operations)
    .filter(([kind]) => kind.startsWith(prefix) && !exclude(kind))
    .reduce((total, [, count]) => total + count, 0);

export function costPerMillionRequests(inputs: CostInputs): CostPerMillion {
  const prices = AZURE_LIST_PRICES_USD;
  const million = 1_000_000;
  const computeBusyUsd = (inputs.instanceCpuMicrosPerRequest / 1e6) * prices.flexInstanceGb * prices.flexGbSecond * million;
  const computeSerialUsd = (inputs.serialLatencyMs / 1e3) * prices.flexInstanceGb * prices.flexGbSecond * million;
  const executionsUsd = inputs.executionsPerRequest * prices.flexPerMillionExecutions;
  const serviceBusOperations = sumOf(inputs.operationsPerRequest, "servicebus.");
  const serviceBusUsd = serviceBusOperations * prices.serviceBusPerMillionOperations;
  const tableUsd = ((sumOf(inputs.operationsPerRequest, "table.", (kind) => kind === "table.proxy.errors") * million) / 10_000) * prices.tablePer10kTransactions;
  const signatures = inputs.operationsPerRequest["keyvault.keys.POST"] ?? 0;
  const keyVaultOther = sumOf(inputs.operationsPerRequest, "keyvault.", (kind) => kind === "keyvault.requests" || kind === "keyvault.keys.POST");
  const keyVaultUsd = ((signatures * million) / 10_000) * prices.keyVaultPer10kAdvancedKeyOperations + ((keyVaultOther * million) / 10_000) * prices.keyVaultPer10kOperations;
  const services = executionsUsd + serviceBusUsd + tableUsd + keyVaultUsd;
  return {
    computeBusyUsd,
    computeSerialUsd,
    executionsUsd,
    serviceBusUsd,
    tableUsd,
    keyVaultUsd,
    totalBusyUsd: computeBusyUsd + services,
    totalSerialUsd: computeSerialUsd + services,
  };
}
