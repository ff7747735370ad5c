import { Broker } from "./broker.js";

/**
 * A local Azure Service Bus: an AMQP 1.0 broker that the unmodified @azure/service-bus SDK talks
 * to, in this process and in memory. Queues (with sessions and dead-letter sub-queues) come from
 * the options. See docs/emulators/servicebus.md for what is emulated and what is not.
 */

export interface QueueDefinition {
  readonly name: string;
  readonly requiresSession?: boolean;
  /** Default 30000. Under 30 s the SDK renews locks in bursts. */
  readonly lockDurationInMs?: number;
  /** Default 10. */
  readonly maxDeliveryCount?: number;
}

export interface ServiceBusEmulatorOptions {
  readonly queues: readonly QueueDefinition[];
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  readonly sasKeyName?: string;
  readonly sasKey?: string;
}

export interface RunningServiceBusEmulator {
  readonly port: number;
  /** `Endpoint=sb://HOST:PORT;SharedAccessKeyName=..;SharedAccessKey=..;UseDevelopmentEmulator=true` */
  readonly connectionString: string;
  /** Closes every connection, timer and the listening socket. Safe to call twice. */
  stop(): Promise<void>;
  /** Messages held by a queue (active, locked, deferred, scheduled); `name/$DeadLetterQueue` for its DLQ. */
  queueDepth(name: string): number;
  /** Operations served since start, by kind (send, receive, settle.*, management.*, cbs). */
  operations(): Readonly<Record<string, number>>;
}

export const DEFAULT_SAS_KEY_NAME = "RootManageSharedAccessKey";
/** A fixed key for local use only (not a secret; the emulator listens on loopback). */
export const DEFAULT_SAS_KEY = "palisade-local-servicebus-emulator-key-not-a-secret";

export async function startServiceBusEmulator(options: ServiceBusEmulatorOptions): Promise<RunningServiceBusEmulator> {
  const host = options.host ?? "127.0.0.1";
  const keyName = options.sasKeyName ?? DEFAULT_SAS_KEY_NAME;
  const key = options.sasKey ?? DEFAULT_SAS_KEY;
  for (const queue of options.queues) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,259}$/.test(queue.name)) {
      throw new Error(`Queue name '${queue.name}' is not valid: use letters, digits, '.', '_' and '-'.`);
    }
  }
  const broker = new Broker({ queues: options.queues, host, port: options.port ?? 0, sasKey: { keyName, key } });
  const port = await broker.listen();
  let stopped: Promise<void> | undefined;
  return {
    port,
    connectionString: `Endpoint=sb://${host}:${port};SharedAccessKeyName=${keyName};SharedAccessKey=${key};UseDevelopmentEmulator=true`,
    stop() {
      stopped ??= broker.stop();
      return stopped;
    },
    queueDepth(name: string) {
      return broker.queueDepth(name);
    },
    operations() {
      return broker.tally.snapshot();
    },
  };
}
