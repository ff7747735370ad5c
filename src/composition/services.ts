import { type AdminService } from "../core/admin/AdminService.js";
import { type ComplianceNightly } from "../core/compliance/ComplianceNightly.js";
import { type AppServices } from "./appServices.js";
import { type RotationServices } from "./rotation.js";

/**
 * What function files call. The services (and every SDK behind them) load on first use, not when the
 * worker imports the function files: indexing the app stays fast, which is most of a cold start.
 *
 * Each module promise is kept: `import()` of a loaded module still runs Node's resolver, about 4 µs
 * of CPU on every request that asked for its services.
 */
function loadedOnce<Module>(load: () => Promise<Module>): { (): Promise<Module>; loaded(): Promise<Module> | null } {
  let module: Promise<Module> | null = null;
  return Object.assign(() => (module ??= load()), { loaded: () => module });
}
const appServicesModule = loadedOnce(() => import("./appServices.js"));
const rotationModule = loadedOnce(() => import("./rotation.js"));
const adminModule = loadedOnce(() => import("./admin.js"));
const complianceModule = loadedOnce(() => import("./compliance.js"));

export const getAppServices = async (): Promise<AppServices> => (await appServicesModule()).getAppServices();
export const getRotationServices = async (): Promise<RotationServices> => (await rotationModule()).getRotationServices();
export type { RotationServices } from "./rotation.js";
export const getAdminService = async (): Promise<AdminService> => (await adminModule()).getAdminService();
export const getComplianceNightly = async (): Promise<ComplianceNightly> => (await complianceModule()).getComplianceNightly();

/**
 * Closes what was built (nothing is loaded when nothing was): writes pending usage, hands back limit leases,
 * publishes their budget warnings, closes the Service Bus sender. `src/index.ts` calls it when the
 * worker is told the app is terminating (scale-in, redeploy).
 */
export const closeServices = async (): Promise<void> => {
  const loaded = appServicesModule.loaded();
  if (loaded) await (await loaded).closeAppServices();
};
