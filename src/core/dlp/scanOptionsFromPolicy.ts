import { type ProjectDlpPolicy } from "../policy/schema.js";
import { type ScanOptions } from "./types.js";

export function scanOptionsFromPolicy(dlp: ProjectDlpPolicy): ScanOptions {
  return { threshold: dlp.threshold, allowlist: [...dlp.allowlist], phoneRegions: [...dlp.phoneRegions] };
}
