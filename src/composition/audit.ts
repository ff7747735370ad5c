import { TableClient } from "@azure/data-tables";
import { type TokenCredential } from "@azure/identity";
import { ServiceBusClient, type ServiceBusSender } from "@azure/service-bus";
import { type BlobServiceClient } from "@azure/storage-blob";
import { BlobCheckpointAnchor } from "../adapters/blob/BlobCheckpointAnchor.js";
import { BlobCheckpointKeyPins } from "../adapters/blob/BlobCheckpointKeyPins.js";
import { keyVaultClientOptions } from "../adapters/keyvault/keyVaultClientOptions.js";
import { coalesceAmqpWrites } from "../adapters/servicebus/coalesceAmqpWrites.js";
import { CircuitBreakingAuditPublisher } from "../adapters/servicebus/CircuitBreakingAuditPublisher.js";
import { ServiceBusAuditDeadLetterQueue } from "../adapters/servicebus/ServiceBusAuditDeadLetterQueue.js";
import { ServiceBusAuditPublisher } from "../adapters/servicebus/ServiceBusAuditPublisher.js";
import { AUDIT_LOG_TABLE } from "../adapters/tables/audit/auditEntities.js";
import { AUDIT_DEAD_LETTER_TABLE, TableAuditDeadLetters } from "../adapters/tables/audit/TableAuditDeadLetters.js";
import { AUDIT_OUTBOX_TABLE, TableAuditOutbox } from "../adapters/tables/TableAuditOutbox.js";
import { TableAuditLedger } from "../adapters/tables/TableAuditLedger.js";
import { type AppendWorkerData, type AppendWorkerStorageBounds } from "../adapters/workers/appendWorkerProtocol.js";
import { WorkerAuditAppender } from "../adapters/workers/WorkerAuditAppender.js";
import { type Clock } from "../core/clock.js";
import { type Logger } from "../core/logger.js";
import { AuditAppender } from "../core/audit/AuditAppender.js";
import { AuditCheckpointer } from "../core/audit/AuditCheckpointer.js";
import { type AuditDeadLetterQueue, type DeadLetterReplayResult, replayAuditDeadLetters } from "../core/audit/AuditDeadLetterQueue.js";
import { type AuditDeadLetters } from "../core/audit/AuditDeadLetters.js";
import { type HoldDeps, type HoldOptions } from "../core/audit/holdThroughOutage.js";
import { CircuitBreaker } from "../core/resilience/CircuitBreaker.js";
import { type AuditLedger } from "../core/audit/AuditLedger.js";
import { type AuditOutbox } from "../core/audit/AuditOutbox.js";
import { type AuditPublisher } from "../core/audit/AuditPublisher.js";
import { type CheckpointAnchor } from "../core/audit/CheckpointAnchor.js";
import { CheckpointKeyTrust } from "../core/audit/CheckpointKeyTrust.js";
import { type CheckpointKeyVersions, type CheckpointSigner } from "../core/audit/CheckpointSigner.js";
import { type AuditPublishFailureMode, drainOutbox, type DrainOutboxResult, OutboxAuditPublisher } from "../core/audit/OutboxAuditPublisher.js";
import { type SignatureVerifier } from "../core/audit/SignatureVerifier.js";
import { deferredCheckpointAnchor, deferredCheckpointKeyPins, deferredCheckpointKeys } from "./deferredAdapters.js";
import { auditAppendWorkerUrl } from "./auditAppendWorkerUrl.js";
import { GIVE_WAY_IN_MS, giveWayToRequests } from "./requestsInFlight.js";
import { type TableResilience } from "./tableResilience.js";

const CLOSE_TIMEOUT_IN_MS = 3_000;
/** The first publish also opens the AMQP connection and link: the SDK's own bound (5 s × 2 retries + delays). */
const FIRST_PUBLISH_TIMEOUT_IN_MS = 16_000;

export interface AuditConfig {
  readonly storage: { readonly connectionString: string } | { readonly tableEndpoint: string; readonly blobEndpoint: string; readonly credential: TokenCredential };
  readonly keyVault?: { readonly url: string; readonly credential: TokenCredential; readonly caCertPem?: string };
  readonly checkpointKeyName: string;
  readonly checkpointContainer: string;
  /** Sign a checkpoint every N entries per chain (0 disables automatic checkpoints). */
  readonly checkpointEvery: number;
  /** Also sign one when a growing chain's last checkpoint is this old (0 disables; default 300,000 ms). */
  readonly checkpointEveryInMs?: number;
  /**
   * The longest one slice of the audit append or its checkpoint waits for the requests in flight to end
   * (at light load; default 20 ms, 0: never waits, only the event loop's next turn). See requestsInFlight.ts.
   */
  readonly giveWayInMs?: number;
  readonly serviceBus?: { readonly connectionString: string } | { readonly fullyQualifiedNamespace: string; readonly credential: TokenCredential };
  readonly auditQueue: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Replaces the Key Vault signer (tests, benches, a stack without Key Vault). */
  readonly checkpointKeys?: { readonly signer: CheckpointSigner; readonly verifier: SignatureVerifier; readonly versions?: CheckpointKeyVersions };
  /** Create tables, container and the checkpoint key when missing (default: true with a connection string, i.e. locally). */
  readonly createIfMissing?: boolean;
  /** Bounded tries and the shared Table Storage breaker (the app passes its own; default: the SDK's). */
  readonly tableOptions?: TableResilience;
  /** The longest a publish waits for Service Bus before the outbox or a 503 (default 2,000 ms). */
  readonly publishTimeoutInMs?: number;
  /** How long the publisher's breaker stays open before one probe (default 2,000 ms). */
  readonly breakerOpenForInMs?: number;
  /** How long the trigger holds a batch through a storage outage (default 240,000 ms: under host.json's 5 min). */
  readonly appendHoldInMs?: number;
  /** Wraps the outbox so telemetry can count what is stored and drained. */
  readonly observeOutbox?: (outbox: AuditOutbox) => AuditOutbox;
  /**
   * Append in a worker thread of this process (PALISADE_AUDIT_APPEND_WORKER, docs/audit.md), not on
   * the thread that serves HTTP. Absent: in this thread. The worker builds its own clients from
   * plain data: the storage's credential from these settings, the Table bounds from these numbers.
   */
  readonly appendWorker?: {
    readonly timeoutInMs: number;
    readonly credential: { readonly managedIdentityClientId?: string; readonly local: boolean };
    readonly bounds?: AppendWorkerStorageBounds;
    /** The worker's script (tests: a build of composition/auditAppendWorker.ts); default: the one beside this build. */
    readonly workerUrl?: URL;
  };
}

export interface AuditComponents {
  readonly ledger: AuditLedger;
  readonly anchor: CheckpointAnchor;
  readonly signer: CheckpointSigner;
  /** Accepts any version of the checkpoint key in the app's Key Vault: the opt-out, not the default trust. */
  readonly signatureVerifier: SignatureVerifier;
  /**
   * Pinned trust in the checkpoint key (the pins beside the checkpoints): what verification trusts by
   * default, and what the checkpointer signs with. Null without key versions (no Key Vault configured).
   */
  readonly keyTrust: CheckpointKeyTrust | null;
  readonly checkpointer: AuditCheckpointer;
  /** The use case the Service Bus trigger calls: in this thread, or in the append worker (`appendWorker`). */
  readonly appender: Pick<AuditAppender, "append">;
  /** Publishes to the audit queue; null when no Service Bus is configured. */
  readonly publisher: AuditPublisher | null;
  readonly outbox: AuditOutbox;
  /** Where the trigger keeps messages it can never append, with the reason (table `AuditDeadLetters`). */
  readonly deadLetters: AuditDeadLetters;
  /** The audit queue's dead-letter queue on the broker; null when no Service Bus is configured. */
  readonly deadLetterQueue: AuditDeadLetterQueue | null;
  /** How the trigger backs off through a storage outage while holding its batch. */
  readonly appendHold: Omit<HoldDeps, "logger"> & HoldOptions;
  /**
   * Opens the publisher's AMQP connection and sender link now, so the first request's publish does not
   * pay for them; never rejects (a publish that finds the broker away fails over as always).
   */
  openPublisher(): Promise<void>;
  /** The publisher for a project's `auditOnPublishFailure` policy (primary, then outbox or fail closed). */
  publisherFor(mode: AuditPublishFailureMode): AuditPublisher;
  /** Republish what the outbox holds (the timer's use case). */
  drainOutbox(): Promise<DrainOutboxResult>;
  /** Send what the broker dead-lettered back to the audit queue (the timer's and the CLI's use case). */
  replayDeadLetters(options?: { maxMessages?: number; maxReplays?: number }): Promise<DeadLetterReplayResult>;
  close(): Promise<void>;
}

const unavailableSigner = (reason: string): CheckpointSigner & SignatureVerifier => ({
  sign: async () => {
    throw new Error(`Cannot sign checkpoints: ${reason}`);
  },
  verify: async () => false,
});

const unavailablePublisher: AuditPublisher = {
  publish: async () => {
    throw new Error("No Service Bus is configured for audit events (SERVICEBUS_CONNECTION_STRING or SERVICEBUS_FULLY_QUALIFIED_NAMESPACE)");
  },
  close: async () => undefined,
};

/** Wires the audit adapters into the audit use cases. Clients are created lazily by the SDKs (no I/O here). */
export function createAuditComponents(config: AuditConfig): AuditComponents {
  const local = "connectionString" in config.storage;
  const create = config.createIfMissing ?? local;
  const tableOptions = config.tableOptions ?? {};
  let auditTable: TableClient;
  let outboxTable: TableClient;
  let deadLetterTable: TableClient;
  // Blob Storage (checkpoints) is for the appender and the nightly job: its SDK loads when first used.
  let blobService: () => Promise<BlobServiceClient>;
  if ("connectionString" in config.storage) {
    const cs = config.storage.connectionString;
    const insecure = /(?:Table|Blob)Endpoint=http:/i.test(cs);
    auditTable = TableClient.fromConnectionString(cs, AUDIT_LOG_TABLE, { ...tableOptions, allowInsecureConnection: insecure });
    outboxTable = TableClient.fromConnectionString(cs, AUDIT_OUTBOX_TABLE, { ...tableOptions, allowInsecureConnection: insecure });
    deadLetterTable = TableClient.fromConnectionString(cs, AUDIT_DEAD_LETTER_TABLE, { ...tableOptions, allowInsecureConnection: insecure });
    blobService = async () => (await import("@azure/storage-blob")).BlobServiceClient.fromConnectionString(cs);
  } else {
    const { tableEndpoint, blobEndpoint, credential } = config.storage;
    auditTable = new TableClient(tableEndpoint, AUDIT_LOG_TABLE, credential, tableOptions);
    outboxTable = new TableClient(tableEndpoint, AUDIT_OUTBOX_TABLE, credential, tableOptions);
    deadLetterTable = new TableClient(tableEndpoint, AUDIT_DEAD_LETTER_TABLE, credential, tableOptions);
    blobService = async () => new (await import("@azure/storage-blob")).BlobServiceClient(blobEndpoint, credential);
  }
  // Azurite scans on every query and serves point reads slowly; Azure Tables the other way round.
  const ledger = new TableAuditLedger(auditTable, { createTableIfMissing: create, dedupeLookup: local ? "orQuery" : "pointReads" });
  const tableOutbox = new TableAuditOutbox(outboxTable, { createTableIfMissing: create });
  const outbox = config.observeOutbox ? config.observeOutbox(tableOutbox) : tableOutbox;
  const deadLetters = new TableAuditDeadLetters(deadLetterTable, { createTableIfMissing: create });
  const anchor = deferredCheckpointAnchor(async () => new BlobCheckpointAnchor((await blobService()).getContainerClient(config.checkpointContainer), { createContainerIfMissing: create }));

  let keys: { signer: CheckpointSigner; verifier: SignatureVerifier; versions?: CheckpointKeyVersions };
  if (config.checkpointKeys !== undefined) keys = config.checkpointKeys;
  else if (config.keyVault !== undefined) {
    const keyVault = config.keyVault;
    // Key Vault keys sign checkpoints (the appender, the nightly job): the SDK loads at the first signature.
    const kv = deferredCheckpointKeys(async () => {
      const { KeyVaultCheckpointSigner } = await import("../adapters/keyvault/KeyVaultCheckpointSigner.js");
      return new KeyVaultCheckpointSigner({
        vaultUrl: keyVault.url,
        keyName: config.checkpointKeyName,
        credential: keyVault.credential,
        clientOptions: keyVaultClientOptions(keyVault.caCertPem === undefined ? {} : { caCertPem: keyVault.caCertPem }),
        createKeyIfMissing: create,
      });
    });
    keys = { signer: kv, verifier: kv, versions: kv };
  } else {
    const none = unavailableSigner("no Key Vault is configured (AZURE_KEYVAULT_URL)");
    keys = { signer: none, verifier: none };
  }

  const { clock, logger } = config;
  // Pins live beside the notes, under the same immutability policy.
  const pins = deferredCheckpointKeyPins(async () => new BlobCheckpointKeyPins((await blobService()).getContainerClient(config.checkpointContainer), { createContainerIfMissing: create }));
  const keyTrust = keys.versions === undefined ? null : new CheckpointKeyTrust({ pins, keys: keys.versions, clock, logger });
  // The append and its checkpoint share the event loop with the requests: with a give-way above 0 (off by default), their slices wait, bounded, for a gap between requests at light load.
  const giveWay = giveWayToRequests(config.giveWayInMs ?? GIVE_WAY_IN_MS);
  const checkpointer = new AuditCheckpointer({ ledger, anchor, signer: keyTrust ?? keys.signer, signatureVerifier: keys.verifier, clock, logger, yieldToEventLoop: giveWay });
  const checkpointEveryInMs = config.checkpointEveryInMs ?? 300_000;
  const workerUrl = config.appendWorker === undefined ? null : (config.appendWorker.workerUrl ?? auditAppendWorkerUrl());
  let worker: WorkerAuditAppender | null = null;
  if (config.appendWorker !== undefined && workerUrl !== null) {
    const { credential, bounds, timeoutInMs } = config.appendWorker;
    const workerData: AppendWorkerData = {
      storage:
        "connectionString" in config.storage
          ? { connectionString: config.storage.connectionString }
          : { tableEndpoint: config.storage.tableEndpoint, blobEndpoint: config.storage.blobEndpoint, local: credential.local, ...(credential.managedIdentityClientId === undefined ? {} : { managedIdentityClientId: credential.managedIdentityClientId }) },
      ...(bounds === undefined ? {} : { bounds }),
      checkpointContainer: config.checkpointContainer,
      checkpointEvery: config.checkpointEvery,
      checkpointEveryInMs,
      createIfMissing: create,
    };
    worker = new WorkerAuditAppender({ workerUrl, workerData, signer: keyTrust ?? keys.signer, signatureVerifier: keys.verifier, logger, timeoutInMs });
  } else if (config.appendWorker !== undefined) {
    // Run from the TypeScript sources (tests), there is no built worker script to start.
    logger.debug("audit.append.in_thread", { reason: "no built append worker beside this module" });
  }
  const appender = worker ?? new AuditAppender({ ledger, clock, logger, checkpointer, checkpointEvery: config.checkpointEvery, checkpointEveryInMs, yieldToEventLoop: giveWay });

  let serviceBus: ServiceBusClient | null = null;
  let publisher: ServiceBusAuditPublisher | null = null;
  let sender: ServiceBusSender | null = null;
  let deadLetterQueue: AuditDeadLetterQueue | null = null;
  if (config.serviceBus !== undefined) {
    // Publishing sits on the request path: bound the SDK's retries so a broker outage fails over to the
    // outbox (or fails closed) within seconds, not minutes.
    const options = { retryOptions: { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 1_000, timeoutInMs: 5_000 } };
    // One socket write per event-loop turn instead of one per AMQP frame (see coalesceAmqpWrites).
    coalesceAmqpWrites();
    serviceBus =
      "connectionString" in config.serviceBus
        ? new ServiceBusClient(config.serviceBus.connectionString, options)
        : new ServiceBusClient(config.serviceBus.fullyQualifiedNamespace, config.serviceBus.credential, options);
    sender = serviceBus.createSender(config.auditQueue);
    publisher = new ServiceBusAuditPublisher(sender);
    const busConfig = config.serviceBus;
    deadLetterQueue = new ServiceBusAuditDeadLetterQueue(
      () =>
        "connectionString" in busConfig
          ? new ServiceBusClient(busConfig.connectionString, options)
          : new ServiceBusClient(busConfig.fullyQualifiedNamespace, busConfig.credential, options),
      config.auditQueue,
    );
  }
  // A partitioned broker must not stall the request path: after the first timeout every publish goes
  // straight to the outbox (or a fast 503) until a probe gets through.
  const breaker = new CircuitBreaker(clock, { openForInMs: config.breakerOpenForInMs ?? 2_000 });
  const primary: AuditPublisher =
    publisher === null ? unavailablePublisher : new CircuitBreakingAuditPublisher(publisher, { breaker, timeoutInMs: config.publishTimeoutInMs ?? 2_000, firstTimeoutInMs: FIRST_PUBLISH_TIMEOUT_IN_MS, logger });
  const byMode = new Map<AuditPublishFailureMode, AuditPublisher>();
  const publisherFor = (mode: AuditPublishFailureMode): AuditPublisher => {
    let wrapped = byMode.get(mode);
    if (wrapped === undefined) {
      wrapped = new OutboxAuditPublisher({ primary, outbox, failureModeFor: () => mode, logger });
      byMode.set(mode, wrapped);
    }
    return wrapped;
  };

  let closed = false;
  return {
    ledger,
    anchor,
    signer: keyTrust ?? keys.signer,
    signatureVerifier: keys.verifier,
    keyTrust,
    checkpointer,
    appender,
    publisher,
    outbox,
    deadLetters,
    deadLetterQueue,
    appendHold: {
      clock,
      holdForInMs: config.appendHoldInMs ?? 240_000,
      wait: (delayInMs, abortSignal) => new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayInMs);
        abortSignal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
      }),
    },
    async openPublisher() {
      // Making a batch asks the link for its largest message size: the SDK opens connection and link.
      await sender?.createMessageBatch({ abortSignal: AbortSignal.timeout(FIRST_PUBLISH_TIMEOUT_IN_MS) }).catch((error: unknown) => {
        logger.warn("the audit publisher could not open its link at start-up; the first publish retries", { error: error instanceof Error ? error.name : "unknown" });
      });
    },
    publisherFor,
    drainOutbox: () => drainOutbox({ outbox, publisher: primary, logger }),
    async replayDeadLetters(options = {}) {
      if (deadLetterQueue === null) throw new Error("No Service Bus is configured for audit events (SERVICEBUS_CONNECTION_STRING or SERVICEBUS_FULLY_QUALIFIED_NAMESPACE)");
      return replayAuditDeadLetters({ queue: deadLetterQueue, logger }, options);
    },
    async close() {
      if (closed) return;
      closed = true;
      // With the broker already gone, the SDK's close waits out its operation timeout: bound it.
      const bounded = (work: Promise<void> | undefined): Promise<unknown> =>
        Promise.race([work ?? Promise.resolve(), new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_IN_MS).unref())]);
      await worker?.close();
      await bounded(publisher?.close());
      await bounded(serviceBus?.close());
    },
  };
}
