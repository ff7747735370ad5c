import { type JsonLogger } from "../adapters/logging/JsonLogger.js";
import { type Clock } from "../core/clock.js";
import { type LoadedPolicy } from "../core/policy/parsePolicy.js";
import { type AuditComponents } from "./audit.js";
import { recordPolicyChangesAtStartUp } from "./compliance.js";
import { type Settings } from "./settings.js";
import { type StorageClients } from "./storage.js";

/** The policy-change trail waits this long after start-up, so a cold instance's first requests go first. */
const POLICY_TRAIL_DELAY_IN_MS = 2_000;

export interface PolicyTrailDeps {
  /** The audit link: the trail is recorded once it is open. */
  readonly publisherOpened: Promise<unknown>;
  readonly storage: StorageClients;
  readonly settings: Settings;
  readonly policy: LoadedPolicy;
  readonly audit: AuditComponents;
  readonly clock: Clock;
  readonly logger: JsonLogger;
}

/**
 * A new policy version (or changed models or endpoints) is an audit event, recorded once across
 * instances. No request needs it: it runs in the background, after the first requests of a cold
 * instance (its publisher falls back to the outbox, so a broker that is away loses nothing).
 * `record` runs it now if it has not run (close() does), and resolves when it is done.
 */
export function schedulePolicyTrail({ publisherOpened, storage, settings, policy, audit, clock, logger }: PolicyTrailDeps): { record(): Promise<void>; stop(): void } {
  let policyTrail: Promise<void> | null = null;
  const record = (): Promise<void> =>
    (policyTrail ??= publisherOpened
      .then(() => recordPolicyChangesAtStartUp({ storage, settings, policy, audit, clock, logger }))
      .then(
        () => undefined,
        () => logger.error("policy change trail could not be recorded"),
      ));
  const timer = setTimeout(() => void record(), POLICY_TRAIL_DELAY_IN_MS);
  timer.unref();
  return { record, stop: () => clearTimeout(timer) };
}
