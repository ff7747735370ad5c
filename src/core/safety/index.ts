export * from "./ContentSafety.js";
export * from "./contentSafetyPolicy.js";
export * from "./ContentSafetyScreen.js";
export * from "./SafetyVerdict.js";
export * from "./StreamingSafetyScreen.js";
export * from "./safetyAudit.js";
export * from "./safetyErrors.js";
export * from "./ContentSafetyStage.js";
