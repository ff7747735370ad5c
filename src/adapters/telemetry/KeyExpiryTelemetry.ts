import { type Meter } from "@opentelemetry/api";
import { type ExpiryAssessment } from "../../core/expiry/assessExpiry.js";
import { ATTR, METRIC } from "../../core/telemetry/telemetryAttributes.js";

type Assessed = Pick<ExpiryAssessment, "kind" | "id" | "project" | "daysToExpiry">;

/**
 * Days to expiry of credentials as an observable gauge, one series per credential (kind, id, project:
 * attributes that never change, so no stale series is left behind). `record` replaces what is reported
 * with the latest check. Pass the whole inventory, so a rotated key's series moves up instead of keeping
 * its last warning value (a cumulative reader keeps reporting a series it stopped seeing). Ids only: a
 * Key Vault secret name or an API key id, never a value.
 */
export class KeyExpiryTelemetry {
  private latest: readonly Assessed[] = [];

  constructor(meter: Meter) {
    const gauge = meter.createObservableGauge(METRIC.daysToExpiry, { description: "Whole days until a credential expires (negative once expired).", unit: "d" });
    gauge.addCallback((result) => {
      for (const entry of this.latest) {
        if (entry.daysToExpiry === null) continue;
        result.observe(entry.daysToExpiry, { [ATTR.credentialKind]: entry.kind, [ATTR.credentialId]: entry.id, [ATTR.project]: entry.project });
      }
    });
  }

  /** Called after each key expiry check with every credential it assessed (or, at least, its findings). */
  record(entries: readonly Assessed[]): void {
    this.latest = entries.map(({ kind, id, project, daysToExpiry }) => ({ kind, id, project, daysToExpiry }));
  }
}
