import { TableClient, type TableServiceClientOptions } from "@azure/data-tables";
import type { TokenCredential } from "@azure/identity";
import { parentPort, workerData } from "node:worker_threads";
import { AuditAppender, type AuditMessage } from "../core/audit/AuditAppender.js";
import { AuditCheckpointer } from "../core/audit/AuditCheckpointer.js";
import { type CheckpointAnchor } from "../core/audit/CheckpointAnchor.js";
import { type CheckpointSignature, type CheckpointSigner } from "../core/audit/CheckpointSigner.js";
import { type SignatureVerifier } from "../core/audit/SignatureVerifier.js";
import { type Clock } from "../core/clock.js";
import { type LogFields, type Logger } from "../core/logger.js";
import { CircuitBreaker } from "../core/resilience/CircuitBreaker.js";
import { quietAzureSdkTracing } from "../adapters/azure/quietSdkTracing.js";
import { BlobCheckpointAnchor } from "../adapters/blob/BlobCheckpointAnchor.js";
import { AUDIT_LOG_TABLE } from "../adapters/tables/audit/auditEntities.js";
import { TableAuditLedger } from "../adapters/tables/TableAuditLedger.js";
import { tableDependencyPolicy } from "../adapters/tables/tableDependencyPolicy.js";
import { deferredCheckpointAnchor } from "./deferredAdapters.js";
import { type AppendWorkerData, errorFrom, type FromAppendWorker, type ToAppendWorker, workerError } from "../adapters/workers/appendWorkerProtocol.js";

/*
 * The audit append's own thread, composed here (its composition root) (started by WorkerAuditAppender): the core's AuditAppender over its own
 * Table client, so that decoding, canonical JSON, hashing, the entity-group transaction, the Tables
 * SDK's pipeline, the checkpoint and all their garbage run on this isolate, not on the
 * thread that serves HTTP. The checkpoint key stays with the main thread (Key Vault's client, the key
 * pins): a signature is one request there.
 */

// This isolate's Azure SDK spans are not exported either (src/adapters/azure/quietSdkTracing.ts).
quietAzureSdkTracing();
const port = parentPort;
if (port === null) throw new Error("auditAppendWorker runs as a worker thread (WorkerAuditAppender)");
const data = workerData as AppendWorkerData;
const clock: Clock = { nowInMs: () => Date.now() };
const post = (message: FromAppendWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

const logAt =
  (level: "debug" | "info" | "warn" | "error") =>
  (message: string, fields?: LogFields): void =>
    post({ type: "log", level, message, ...(fields === undefined ? {} : { fields }) });
const logger: Logger = { debug: logAt("debug"), info: logAt("info"), warn: logAt("warn"), error: logAt("error") };

let nextCall = 0;
const calls = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
const ask = <T>(message: (id: number) => FromAppendWorker): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    nextCall += 1;
    calls.set(nextCall, { resolve, reject });
    post(message(nextCall));
  });
const signer: CheckpointSigner = { sign: (digest) => ask<CheckpointSignature>((id) => ({ type: "sign", id, digest })) };
const verifier: SignatureVerifier = { verify: (input) => ask<boolean>((id) => ({ type: "verify", id, ...input })) };

function tableOptions(): TableServiceClientOptions {
  const { bounds } = data;
  if (bounds === undefined) return {};
  const breaker = new CircuitBreaker(clock, { openForInMs: bounds.openForInMs });
  return {
    retryOptions: { maxRetries: bounds.maxRetries, retryDelayInMs: bounds.retryDelayInMs, maxRetryDelayInMs: bounds.retryDelayInMs * 4 },
    additionalPolicies: [{ policy: tableDependencyPolicy({ breaker, logger, tryTimeoutInMs: bounds.tryTimeoutInMs }), position: "perCall" }],
  };
}

function composeAppender(): AuditAppender {
  const { storage } = data;
  const options = tableOptions();
  let table: TableClient;
  let anchor: () => Promise<CheckpointAnchor>;
  const create = { createContainerIfMissing: data.createIfMissing };
  if ("connectionString" in storage) {
    const cs = storage.connectionString;
    table = TableClient.fromConnectionString(cs, AUDIT_LOG_TABLE, { ...options, allowInsecureConnection: /(?:Table|Blob)Endpoint=http:/i.test(cs) });
    anchor = async () => new BlobCheckpointAnchor((await import("@azure/storage-blob")).BlobServiceClient.fromConnectionString(cs).getContainerClient(data.checkpointContainer), create);
  } else {
    // The identity SDK loads at the first token, not with the worker (~half of its start's CPU otherwise).
    const credentialSettings = { local: storage.local, ...(storage.managedIdentityClientId === undefined ? {} : { managedIdentityClientId: storage.managedIdentityClientId }) };
    let loaded: Promise<TokenCredential> | null = null;
    const credential: TokenCredential = {
      getToken: async (scopes, tokenOptions) => {
        loaded ??= import("../adapters/identity/createCredential.js").then(({ createCredential }) => createCredential(credentialSettings));
        return (await loaded).getToken(scopes, tokenOptions);
      },
    };
    table = new TableClient(storage.tableEndpoint, AUDIT_LOG_TABLE, credential, options);
    anchor = async () => new BlobCheckpointAnchor(new (await import("@azure/storage-blob")).BlobServiceClient(storage.blobEndpoint, credential).getContainerClient(data.checkpointContainer), create);
  }
  const local = "connectionString" in storage;
  // As composition/audit.ts: Azurite scans on every query and serves point reads slowly; Azure the other way round.
  const ledger = new TableAuditLedger(table, { createTableIfMissing: data.createIfMissing, dedupeLookup: local ? "orQuery" : "pointReads" });
  const deferredAnchor = deferredCheckpointAnchor(anchor);
  const checkpointer = new AuditCheckpointer({ ledger, anchor: deferredAnchor, signer, signatureVerifier: verifier, clock, logger });
  return new AuditAppender({ ledger, clock, logger, checkpointer, checkpointEvery: data.checkpointEvery, checkpointEveryInMs: data.checkpointEveryInMs });
}

const appender = composeAppender();

/** Deliveries whose parts are still arriving, by call id. */
const arriving = new Map<number, AuditMessage[]>();

port.on("message", (message: ToAppendWorker) => {
  if (message.type === "append") {
    const messages = arriving.get(message.id) ?? [];
    for (const item of message.messages) messages.push(item);
    if (!message.last) {
      arriving.set(message.id, messages);
      return;
    }
    arriving.delete(message.id);
    appender.append(messages).then(
      (outcomes) => post({ type: "appended", id: message.id, outcomes }),
      (error: unknown) => post({ type: "failed", id: message.id, error: workerError(error) }),
    );
    return;
  }
  const call = calls.get(message.id);
  if (call === undefined) return;
  calls.delete(message.id);
  if (message.error !== undefined) call.reject(errorFrom(message.error));
  else call.resolve(message.type === "signed" ? message.signature : message.valid);
});
