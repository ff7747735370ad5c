export type ExpiryItemKind = "managed-credential" | "api-key" | "checkpoint-key";
export type ExpirySeverity = "ok" | "warning" | "critical";

export interface ExpiryItem {
  readonly kind: ExpiryItemKind;
  /** Credential id (Key Vault secret name) or API key id. */
  readonly id: string;
  /** A non-secret display handle (issuer key id, `pal_<keyId>`). */
  readonly prefix: string;
  readonly project: string;
  readonly environment: string | null;
  /** Null: the item has no expiry, which is itself a finding (every version must carry one). */
  readonly expiresAtInMs: number | null;
}

export interface ExpiryAssessment extends ExpiryItem {
  /** Whole days left, rounded down; negative once expired; null without an expiry. */
  readonly daysToExpiry: number | null;
  readonly severity: ExpirySeverity;
  /** `expired`, `expiring`, `no_expiry` or `ok`. */
  readonly reason: "expired" | "expiring" | "no_expiry" | "ok";
}

export const EXPIRY_WARNING_DAYS = 7;
const DAY_IN_MS = 86_400_000;

/** Warning within 7 days of expiry (or with no expiry at all), critical once expired. Pure. */
export function assessExpiry(items: readonly ExpiryItem[], nowInMs: number, warningDays: number = EXPIRY_WARNING_DAYS): ExpiryAssessment[] {
  return items.map((item) => {
    if (item.expiresAtInMs === null) return { ...item, daysToExpiry: null, severity: "warning", reason: "no_expiry" };
    const remainingInMs = item.expiresAtInMs - nowInMs;
    const daysToExpiry = Math.floor(remainingInMs / DAY_IN_MS);
    if (remainingInMs <= 0) return { ...item, daysToExpiry, severity: "critical", reason: "expired" };
    if (remainingInMs <= warningDays * DAY_IN_MS) return { ...item, daysToExpiry, severity: "warning", reason: "expiring" };
    return { ...item, daysToExpiry, severity: "ok", reason: "ok" };
  });
}
