export { countByType } from "./countByType.js";
export { normalizeForScan, type NormalizedText } from "./normalizeForScan.js";
export { redact, Redactor, type RedactionResult, type RedactOptions } from "./Redactor.js";
export { scan } from "./scan.js";
export { scanOptionsFromPolicy } from "./scanOptionsFromPolicy.js";
export { StreamingInspector, type StreamingInspectorOptions, type StreamVerdict } from "./StreamingInspector.js";
export { ENTITY_TYPES, type EntityType, type Finding, type ScanOptions } from "./types.js";
