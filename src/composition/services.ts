import { type AdminService } from "../core/admin/AdminService.js";
import { type ComplianceNightly } from "../core/compliance/ComplianceNightly.js";
import { type AppServices } from "./appServices.js";
import { type RotationServices } from "./rotation.js";

/**
 * What function files call. The services (and every SDK behind them) load on first use, not when the
 * worker imports the function files: indexing the app stays fast, which is most of a cold start.
 */
let appServicesRequested = false;
export const getAppServices = async (): Promise<AppServices> => {
  appServicesRequested = true;
  return (await import("./appServices.js")).getAppServices();
};
export const getRotationServices = async (): Promise<RotationServices> => (await import("./rotation.js")).getRotationServices();
export type { RotationServices } from "./rotation.js";
export const getAdminService = async (): Promise<AdminService> => (await import("./admin.js")).getAdminService();
export const getComplianceNightly = async (): Promise<ComplianceNightly> => (await import("./compliance.js")).getComplianceNightly();

/**
 * Closes what was built (nothing is loaded when nothing was): writes pending usage, hands back limit leases,
 * publishes their budget warnings, closes the Service Bus sender. `src/index.ts` calls it when the
 * worker is told the app is terminating (scale-in, redeploy).
 */
export const closeServices = async (): Promise<void> => {
  if (appServicesRequested) await (await import("./appServices.js")).closeAppServices();
};
