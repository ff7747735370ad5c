import { aiRules } from "./rules/aiRules.js";
import { azureRules } from "./rules/azureRules.js";
import { cloudRules } from "./rules/cloudRules.js";
import { codeHostingRules } from "./rules/codeHostingRules.js";
import { commerceRules } from "./rules/commerceRules.js";
import { keyRules } from "./rules/keyRules.js";
import { messagingRules } from "./rules/messagingRules.js";
import { type SecretRule } from "./SecretRule.js";

/** Every prefixed-secret rule, one file per family. Earlier rules win when two match at the same place. */
export const SECRET_RULES: readonly SecretRule[] = [...keyRules, ...aiRules, ...azureRules, ...cloudRules, ...codeHostingRules, ...commerceRules, ...messagingRules];
