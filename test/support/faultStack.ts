import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type RunningLocalHost, startLocalHost } from "../../local/host/index.js";
import { loadFunctionDefinitions } from "../../local/loadFunctionDefinitions.js";
import { type RunningMockOpenAi, startMockOpenAi } from "../../local/mockOpenAi/index.js";
import { type LocalStack, startLocalStack } from "../../local/stack.js";
import { createProgram } from "../../src/cli/program.js";
import { type AppServices } from "../../src/composition/appServices.js";
import { CliServices } from "../../src/composition/cliServices.js";
import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { queryAuditEvents } from "../../src/core/audit/queryAuditEvents.js";
import { type FaultProxy, startFaultProxy } from "./faultProxy.js";

/**
 * The timings the fault suite runs with, scaled down so that outages that matter in production fit a
 * CI budget. In production (defaults in src/composition/settings.ts) a Table try is cut at 4 s with 1
 * retry, a breaker stays open 2 s, a publish waits at most 2 s, and the audit trigger holds a batch for
 * 240 s through a storage outage (× MaxDeliveryCount 10 = 40 min before the broker dead-letters). Here
 * a Table try is cut at 1.5 s (Azurite shares this process, so less would time out under load), and
 * the trigger's hold is 2 s (1/120 of production's). Outages are then long compared to the hold: a 10 s one
 * is 5 holds (in production terms: 20 minutes), a 12 s one 6 holds (24 minutes), on the way to
 * hold × MaxDeliveryCount, where the broker would dead-letter and the replay timer takes over
 * (test/fault/deadLetterReplay.test.ts makes that happen for certain, with MaxDeliveryCount 3).
 */
export const FAULT_TIMINGS = {
  PALISADE_STORAGE_TRY_TIMEOUT_IN_MS: "1500",
  PALISADE_STORAGE_MAX_RETRIES: "1",
  PALISADE_STORAGE_RETRY_DELAY_IN_MS: "100",
  PALISADE_DEPENDENCY_OPEN_FOR_IN_MS: "500",
  PALISADE_AUDIT_PUBLISH_TIMEOUT_IN_MS: "1000",
  PALISADE_AUDIT_APPEND_HOLD_IN_MS: "2000",
} as const;

export interface FaultStack {
  readonly stack: LocalStack;
  readonly host: RunningLocalHost;
  readonly services: AppServices;
  readonly table: FaultProxy;
  readonly serviceBus: FaultProxy;
  readonly baseUrl: string;
  readonly upstream: RunningMockOpenAi;
  createKey(project: string, serviceAccount: string): Promise<string>;
  chain(chainId: string): Promise<AuditEvent[]>;
  /** Runs `palisade audit <args>` as a user would; returns the exit code and stdout. */
  cli(...args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString("utf8");
    done();
  }
}

/**
 * The whole app on the local stack with TCP fault proxies between it and Table Storage (Azurite's table
 * endpoint) and Service Bus (the emulator): the gateway, the audit trigger, the CLI all go through them.
 * Projects: `ob` (auditOnPublishFailure: outbox) and `fc` (fail_closed), plus `extraProjects` (each with a
 * service account `app`; fail_closed audit unless they say otherwise). One stack per test file.
 */
export async function startFaultStack(options: { extraProjects?: readonly { readonly id: string; readonly [setting: string]: unknown }[] } = {}): Promise<FaultStack> {
  const directory = await mkdtemp(join(tmpdir(), "palisade-fault-"));
  const stack = await startLocalStack({ stateDirectory: directory });
  const upstream = await startMockOpenAi({ name: "upstream", region: "westeurope" });
  const table = await startFaultProxy({ port: Number(new URL(stack.azurite.tableEndpoint).port) });
  const serviceBus = await startFaultProxy({ port: stack.serviceBus.port });
  const storage = stack.azurite.connectionString.replace(/TableEndpoint=http:\/\/127\.0\.0\.1:\d+/, `TableEndpoint=http://127.0.0.1:${table.port}`);
  const bus = stack.serviceBus.connectionString.replace(/sb:\/\/127\.0\.0\.1:\d+/, `sb://127.0.0.1:${serviceBus.port}`);
  const policy = {
    version: 1,
    projects: ["ob", "fc"].map((id) => ({
      id,
      residency: "eu",
      models: [{ name: "gpt-4o-mini", deployment: "gpt-4o-mini" }],
      auditOnPublishFailure: id === "ob" ? "outbox" : "fail_closed",
    })).concat((options.extraProjects ?? []).map((project) => ({ residency: "eu", models: [{ name: "gpt-4o-mini", deployment: "gpt-4o-mini" }], auditOnPublishFailure: "fail_closed", ...project }))),
    serviceAccounts: [
      { id: "app", project: "ob", permissions: ["chat.completions"] },
      { id: "app", project: "fc", permissions: ["chat.completions"] },
      ...(options.extraProjects ?? []).map((project) => ({ id: "app", project: project.id, permissions: ["chat.completions"] })),
    ],
    endpoints: [
      {
        id: "eu-west",
        provider: "azure",
        baseUrl: upstream.url,
        region: "westeurope",
        residency: "eu",
        class: "standard",
        deployments: ["gpt-4o-mini"],
        priority: 1,
        auth: { kind: "none" },
        timeoutInMs: 5_000,
      },
    ],
    pricing: { "gpt-4o-mini": { inputPer1M: 0.15, outputPer1M: 0.6 } },
  };
  const policyPath = join(directory, "policy.json");
  await writeFile(policyPath, JSON.stringify(policy, null, 2));
  Object.assign(process.env, stack.environment, FAULT_TIMINGS, {
    AZURE_STORAGE_CONNECTION_STRING: storage,
    SERVICEBUS_CONNECTION_STRING: bus,
    ServiceBus: bus,
    PALISADE_POLICY: policyPath,
    PALISADE_LOG_LEVEL: "error",
  });
  const { getAppServices } = await import("../../src/composition/appServices.js");
  const services = await getAppServices();
  const host = await startLocalHost({ definitions: await loadFunctionDefinitions(), runServiceBusTriggers: true, log: () => undefined });

  return {
    stack,
    host,
    services,
    table,
    serviceBus,
    upstream,
    baseUrl: `${host.url}/v1`,
    async createKey(project, serviceAccount) {
      return (await services.apiKeys.create({ project, serviceAccount, expiresInMs: 3_600_000 })).apiKey;
    },
    async chain(chainId) {
      const events: AuditEvent[] = [];
      for await (const event of queryAuditEvents(services.audit.ledger, { chainId })) events.push(event);
      return events;
    },
    async cli(...args) {
      const stdout = new Capture();
      const stderr = new Capture();
      const cliServices = new CliServices(process.env);
      const program = createProgram({ stdout, stderr }, cliServices).exitOverride();
      let exitCode = 0;
      try {
        await program.parseAsync(["node", "palisade", ...args]);
      } catch (error) {
        exitCode = typeof (error as { exitCode?: unknown }).exitCode === "number" ? (error as { exitCode: number }).exitCode : 1;
      } finally {
        await cliServices.close();
      }
      return { exitCode, stdout: stdout.text, stderr: stderr.text };
    },
    async stop() {
      await table.setMode("pass");
      await serviceBus.setMode("pass");
      await host.stop();
      await services.close().catch(() => undefined);
      await upstream.stop();
      await table.stop();
      await serviceBus.stop();
      await stack.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
