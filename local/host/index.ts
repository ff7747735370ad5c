import { type Timer, type TraceContext } from "@azure/functions";
import { ServiceBusClient } from "@azure/service-bus";
import { randomUuid } from "../../src/adapters/random/randomUuid.js";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { coalesceAmqpWrites } from "../../src/adapters/servicebus/coalesceAmqpWrites.js";
import { SCHEDULE_DEFAULTS } from "../../src/composition/settings.js";
import { type FunctionDefinition } from "../../src/functions/definition.js";
import { InvocationContext } from "./functionsRuntime.js";
import { type HttpRoute, compileRoute, matchRoute } from "./httpRoutes.js";
import { parseNcrontab } from "./ncrontab.js";
import { type BodyRateOptions, MAX_BODY_BYTES, RequestBodyError, closeAfterUnreadBody, isBodyAbandoned, requestBodyOf, watchBodyRate } from "./requestBody.js";
import { resolveSetting } from "./resolveSetting.js";
import { appHostJsonPath, readHostServiceBusSettings } from "./hostJsonServiceBus.js";
import { GIVE_WAY_IN_MS, RequestsInFlight } from "../../src/composition/requestsInFlight.js";
import { type RunningTrigger, startServiceBusTrigger } from "./serviceBusTrigger.js";
import { headersOf, invocationTraceContext, requestFor, requestUrl } from "./incomingRequest.js";
import { plainError, writeResponse } from "./writeResponse.js";
import { listenOn } from "../listenOn.js";

export interface LocalHostOptions {
  readonly definitions: readonly FunctionDefinition[];
  readonly port?: number;
  readonly host?: string;
  /** Settings for `%NAME%` expressions and binding connections (defaults to process.env). */
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /** Run timers on their schedules (on-demand runs work either way). */
  readonly runTimers?: boolean;
  /** Feed Service Bus triggers from their queues. */
  readonly runServiceBusTriggers?: boolean;
  /**
   * When the Service Bus triggers start: once the first HTTP request has been answered, or this long
   * after the host listens if none comes (default 1,000 ms; 0 starts them with the host). Their
   * session receivers (up to 16 links) would otherwise compete with a cold instance's first request;
   * what is published meanwhile waits in the queue.
   */
  readonly serviceBusTriggersDelayInMs?: number;
  readonly log?: (line: string) => void;
  /**
   * The longest a short batch of a Service Bus trigger waits, before each of its turns, for a moment
   * with no HTTP request in flight (PALISADE_AUDIT_GIVE_WAY_IN_MS; default 0: never waits).
   * See src/composition/requestsInFlight.ts.
   */
  readonly triggerGiveWayInMs?: number;
  /** host.json, whose serviceBus section configures the triggers (default: the one in the working directory). */
  readonly hostJsonPath?: string;
  /**
   * How long a caller may take to send the request's headers (default 30 s, Kestrel's
   * RequestHeadersTimeout); past it the connection gets 408 and is closed.
   */
  readonly headersTimeoutInMs?: number;
  /**
   * The slowest a body may arrive, on average, once the grace period has passed (default 240 bytes/s
   * after 5 s, Kestrel's MinRequestBodyDataRate); slower gets 408 in the OpenAI error shape.
   */
  readonly minBodyRate?: BodyRateOptions;
}

export interface RunningLocalHost {
  readonly url: string;
  readonly port: number;
  /** Runs a timer function now, as `POST /admin/functions/<name>` does. */
  runTimer(name: string): Promise<void>;
  /**
   * Stops: no new connections, then (with `drainInMs`) waits up to that long for the requests in
   * flight, streams included, to finish (so their outcomes are audited), then closes every connection.
   */
  stop(options?: HostStopOptions): Promise<void>;
  /** Requests being handled now (answers being written, streams open). */
  inFlight(): number;
}

export interface HostStopOptions {
  readonly drainInMs?: number;
  /**
   * Runs once the requests are drained (their outcomes published) and before the queue triggers stop:
   * `npm start` waits here for the audit queue to be consumed, since its Service Bus is in memory.
   */
  readonly beforeTriggersStop?: () => Promise<void>;
}

const ROUTE_PREFIX = "/api";
/** How long a stop waits for requests it cut to finish recording their outcome. */
const CUT_REQUESTS_SETTLE_IN_MS = 3_000;
/** How long a trigger's short batch waits, at most, per turn, for the HTTP requests in flight to end (the app's default too). */
const DEFAULT_TRIGGER_GIVE_WAY_IN_MS = GIVE_WAY_IN_MS;


/** PALISADE_AUDIT_GIVE_WAY_IN_MS: a whole number of ms up to a second, else the default. */
function giveWaySetting(value: string | undefined): number {
  const ms = Number(value);
  return value !== undefined && value.trim() !== "" && Number.isInteger(ms) && ms >= 0 && ms <= 1_000 ? ms : DEFAULT_TRIGGER_GIVE_WAY_IN_MS;
}

/** An error's name and message for a log line (never a request's content: errors here carry none). */
function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : "unknown error";
}

/** A caller that went away: routine for a server, not worth a log line. */
function isDisconnect(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ECONNRESET" || code === "EPIPE" || code === "ERR_STREAM_PREMATURE_CLOSE" || code === "ERR_STREAM_DESTROYED" || error.message === "aborted";
}

type ServiceBusDefinition = Extract<FunctionDefinition, { kind: "serviceBusQueue" }>;

/** The Service Bus trigger definitions with their connection strings and queues; a missing setting is an error. */
function serviceBusTriggersOf(
  definitions: readonly FunctionDefinition[],
  environment: Readonly<Record<string, string | undefined>>,
): { definition: ServiceBusDefinition; connectionString: string; queueName: string }[] {
  return definitions.flatMap((definition) => {
    if (definition.kind !== "serviceBusQueue") return [];
    const connectionString = environment[definition.options.connection];
    if (!connectionString) throw new Error(`${definition.name}: setting ${definition.options.connection} (a Service Bus connection string) is not set`);
    return [{ definition, connectionString, queueName: resolveSetting(definition.options.queueName, environment) }];
  });
}

/**
 * Serves function definitions as the Functions host does: HTTP routes under /api, timers on their
 * NCRONTAB schedule and on demand (`POST /admin/functions/<name>`), and Service Bus queue triggers.
 * Several hosts can share one local stack, the way Azure scales an app out.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<RunningLocalHost> {
  // Schedules fall back to the app's defaults, as Azure's app settings would carry them.
  const environment: Readonly<Record<string, string | undefined>> = { ...SCHEDULE_DEFAULTS, ...(options.environment ?? process.env) };
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const routes: HttpRoute[] = [];
  const timers = new Map<string, Extract<FunctionDefinition, { kind: "timer" }>>();
  for (const definition of options.definitions) {
    if (definition.kind === "http") routes.push(compileRoute(definition.name, definition.options));
    if (definition.kind === "timer") timers.set(definition.name.toLowerCase(), definition);
  }
  // Literal routes before parameterised ones, and catch-alls last, as the host orders them.
  routes.sort((a, b) => Number(a.catchAll) - Number(b.catchAll) || a.paramNames.length - b.paramNames.length);

  const contextFor = (functionName: string, triggerMetadata: Record<string, unknown> = {}, traceContext?: TraceContext): InvocationContext =>
    new InvocationContext({
      invocationId: randomUuid(),
      functionName,
      triggerMetadata,
      ...(traceContext === undefined ? {} : { traceContext }),
      logHandler: (level, ...args) => {
        if (level !== "trace" && level !== "debug") log(`[${functionName}] ${level}: ${args.map(String).join(" ")}`);
      },
    });

  const runTimer = async (name: string, isPastDue = false): Promise<void> => {
    const definition = timers.get(name.toLowerCase());
    if (!definition) throw new Error(`no timer function named ${name}`);
    const timer: Timer = { isPastDue, schedule: { adjustForDST: false }, scheduleStatus: { last: "", next: "", lastUpdated: new Date().toISOString() } };
    await definition.options.handler(timer, contextFor(definition.name));
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = requestUrl(request);
    const method = (request.method ?? "GET").toUpperCase();
    const admin = /^\/admin\/functions\/([^/]+)$/.exec(url.pathname);
    if (admin && method === "POST") {
      try {
        await runTimer(decodeURIComponent(admin[1] ?? ""));
        response.writeHead(202).end();
      } catch (error) {
        plainError(response, timers.has((admin[1] ?? "").toLowerCase()) ? 500 : 404, error instanceof Error ? error.message : "timer failed");
      }
      return;
    }
    if (!url.pathname.startsWith(`${ROUTE_PREFIX}/`)) {
      plainError(response, 404, `No function serves ${url.pathname}. Functions are under ${ROUTE_PREFIX}/.`);
      return;
    }
    const matched = matchRoute(routes, url.pathname.slice(ROUTE_PREFIX.length), method);
    if (!matched) {
      plainError(response, 404, `No function serves ${url.pathname}.`);
      return;
    }
    if (!matched.route.methods.has(method)) {
      response.setHeader("allow", [...matched.route.methods].join(", "));
      plainError(response, 405, `${method} is not allowed on ${url.pathname}.`);
      return;
    }
    // Refused on the declared length at once, as Azure's front end does, before reading a byte.
    if (Number(request.headers["content-length"] ?? 0) > MAX_BODY_BYTES) {
      response.once("finish", () => closeAfterUnreadBody(request));
      plainError(response, 413, "The request body is larger than 100 MB.");
      return;
    }
    watchBodyRate(
      request,
      bodyRate,
      () => response.headersSent || isBodyAbandoned(request),
      () => {
        response.shouldKeepAlive = false;
        plainError(response, 408, `The request body arrived more slowly than ${bodyRate.minBytesPerSecond} bytes per second. Send it again, faster.`);
      },
    );
    let body;
    try {
      body = await requestBodyOf(request, method);
    } catch (error) {
      if (!(error instanceof RequestBodyError)) throw error;
      if (!response.headersSent) plainError(response, 400, `The request body could not be read: ${error.message}.`);
      return;
    }
    const httpRequest = requestFor(method, url, headersOf(request), matched.params, body);
    const result = await matched.route.options.handler(httpRequest, contextFor(matched.route.name, {}, invocationTraceContext(request.headers.traceparent)));
    // Already answered (a body too slow): the function's answer has nowhere to go.
    if (response.headersSent) return;
    // The function answered without reading the whole body (a 413, say): close the connection
    // rather than read the rest of it.
    if (!request.complete) response.once("finish", () => closeAfterUnreadBody(request));
    await writeResponse(response, result ?? undefined);
  };

  const headersTimeoutInMs = options.headersTimeoutInMs ?? 30_000;
  const bodyRate: BodyRateOptions = options.minBodyRate ?? { minBytesPerSecond: 240, graceInMs: 5_000 };
  // Node checks the headers deadline every connectionsCheckingInterval (30 s by default): check often
  // enough that the bound holds.
  // Settings are checked before listening, so a missing connection fails the start; the receivers start later.
  const serviceBusTriggers = options.runServiceBusTriggers ? serviceBusTriggersOf(options.definitions, environment) : [];
  let stopped = false;
  let answered = false;
  /** Requests being handled (their answers written, streams to their end): what a graceful stop waits for. */
  const inFlight = new Set<Promise<void>>();
  const requestsInFlight = new RequestsInFlight();
  let onFirstAnswer: (() => void) | null = null;
  const server: Server = createServer({ headersTimeout: headersTimeoutInMs, connectionsCheckingInterval: Math.min(1_000, Math.max(100, headersTimeoutInMs / 4)) }, (request, response) => {
    // A socket that fails under a request or response (a reset, a write after the caller left) is
    // reported here, never thrown: an `error` event without a listener would end the process.
    const reportSocketError = (error: Error): void => {
      if (!isDisconnect(error)) log(`host: connection failed: ${describeError(error)}`);
    };
    request.on("error", reportSocketError);
    response.on("error", reportSocketError);
    if (!answered) response.once("finish", () => {
      if (answered) return;
      answered = true;
      onFirstAnswer?.();
    });
    const handled = handle(request, response).catch((error: unknown) => {
      log(`host: unhandled error: ${describeError(error)}`);
      if (response.destroyed) return;
      if (!response.headersSent) plainError(response, 500, "The function failed.");
      else response.destroy();
    });
    inFlight.add(handled);
    requestsInFlight.started();
    void handled.finally(() => {
      inFlight.delete(handled);
      requestsInFlight.ended();
    });
  });
  server.keepAliveTimeout = 65_000;
  const port = await listenOn(server, options.port ?? 0, options.host ?? "127.0.0.1");
  server.on("error", (error) => log(`host: server error: ${describeError(error)}`));

  const timerHandles: NodeJS.Timeout[] = [];
  if (options.runTimers) {
    for (const definition of timers.values()) {
      const schedule = parseNcrontab(resolveSetting(definition.options.schedule, environment));
      const arm = (): void => {
        const delay = Math.max(0, schedule.next(Date.now()) - Date.now());
        const handle = setTimeout(() => {
          runTimer(definition.name).catch((error: unknown) => log(`[${definition.name}] failed: ${error instanceof Error ? error.message : "unknown"}`));
          arm();
        }, Math.min(delay, 2 ** 31 - 1));
        handle.unref();
        timerHandles.push(handle);
      };
      arm();
    }
  }

  const triggers: RunningTrigger[] = [];
  // The app's PALISADE_AUDIT_GIVE_WAY_IN_MS sets it too (0, the default, never waits).
  const triggerGiveWayInMs = options.triggerGiveWayInMs ?? giveWaySetting(environment.PALISADE_AUDIT_GIVE_WAY_IN_MS);
  const clients: ServiceBusClient[] = [];
  let triggersStarted = false;
  let triggerDelay: NodeJS.Timeout | undefined;
  const startTriggers = (): void => {
    if (triggersStarted || stopped) return;
    triggersStarted = true;
    clearTimeout(triggerDelay);
    // As the Functions host does: sessions, batch size and lock renewal from host.json's serviceBus section.
    const hostServiceBus = readHostServiceBusSettings(serviceBusTriggers.length > 0 ? (options.hostJsonPath ?? appHostJsonPath()) : null);
    for (const { definition, connectionString, queueName } of serviceBusTriggers) {
      coalesceAmqpWrites(); // as the app's own Service Bus clients: one socket write per turn, not per frame
      // The operation timeout is host.json's clientRetryOptions.tryTimeout (a minute by default, as in
      // Azure): an idle acceptNextSession waits that long at the broker, which answers it as soon as a
      // session has a message. A stop aborts the wait. (A 3 s timeout cost an accept, with its link,
      // token and error, every 3 s of quiet.)
      const client = new ServiceBusClient(connectionString, { retryOptions: { timeoutInMs: hostServiceBus.tryTimeoutInMs, maxRetries: 3 } });
      clients.push(client);
      triggers.push(
        startServiceBusTrigger({
          name: definition.name,
          options: definition.options,
          queueName,
          client,
          log,
          ...hostServiceBus,
          beforeShortBatchTurn: () => requestsInFlight.idle(triggerGiveWayInMs),
        }),
      );
    }
  };
  const triggersDelayInMs = options.serviceBusTriggersDelayInMs ?? 1_000;
  if (serviceBusTriggers.length > 0) {
    if (triggersDelayInMs <= 0 || answered) startTriggers();
    else {
      triggerDelay = setTimeout(startTriggers, triggersDelayInMs).unref();
      onFirstAnswer = startTriggers;
    }
  }

  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}${ROUTE_PREFIX}`,
    port,
    runTimer: (name) => runTimer(name),
    async stop(stopOptions = {}) {
      stopped = true;
      clearTimeout(triggerDelay);
      for (const handle of timerHandles) clearTimeout(handle);
      // No new connections; idle keep-alive ones close now, busy ones once their answer is written.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const drainInMs = stopOptions.drainInMs ?? 0;
      if (drainInMs > 0 && inFlight.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.allSettled([...inFlight]), new Promise<void>((resolve) => (timer = setTimeout(resolve, drainInMs)))]);
        clearTimeout(timer);
      }
      server.closeAllConnections();
      // Requests cut just now still record their outcome (a stream's api_call): give them a moment before the caller closes the app's services.
      if (inFlight.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.allSettled([...inFlight]), new Promise<void>((resolve) => (timer = setTimeout(resolve, CUT_REQUESTS_SETTLE_IN_MS)))]);
        clearTimeout(timer);
      }
      if (stopOptions.beforeTriggersStop) await stopOptions.beforeTriggersStop().catch((error: unknown) => log(`host: before the triggers stopped: ${describeError(error)}`));
      await Promise.allSettled(triggers.map((trigger) => trigger.stop()));
      await Promise.allSettled(clients.map((client) => client.close()));
      await closed;
    },
    inFlight: () => inFlight.size,
  };
}
