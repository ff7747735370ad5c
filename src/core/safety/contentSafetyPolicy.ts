import { z } from "zod";
import { type DataClass } from "../policy/schema.js";

/**
 * A project's content-safety policy (`projects[].contentSafety`). Kept in its own module so the
 * policy schema only imports it; see docs/content-safety.md.
 */

const SAFETY_ACTIONS = ["block", "flag"] as const;
const FAILURE_MODES = ["fail_closed", "fail_open"] as const;
// Listed here, not imported, because policy/schema.ts imports this module (a type check keeps them in step).
const SCREENABLE_CLASSES = ["public", "internal", "confidential", "pii", "phi"] as const satisfies readonly DataClass[];
type EveryClassListed = Exclude<DataClass, (typeof SCREENABLE_CLASSES)[number]> extends never ? true : never;
const everyClassListed: EveryClassListed = true;
void everyClassListed;

export type SafetyAction = (typeof SAFETY_ACTIONS)[number];
export type SafetyFailureMode = (typeof FAILURE_MODES)[number];

/** A category is screened when it has a rule: findings at or above `threshold` (0-7) get `action`. */
const categoryRule = z
  .object({
    threshold: z.number().int().min(0).max(7),
    action: z.enum(SAFETY_ACTIONS).default("block"),
  })
  .strict();

export const contentSafetyPolicySchema = z
  .object({
    /** Prompt Shields: attacks in the user prompt and in documents (tool results, retrieved content). */
    shields: z
      .object({ enabled: z.boolean().default(true), action: z.enum(SAFETY_ACTIONS).default("block") })
      .strict()
      .default({ enabled: false, action: "block" }),
    /** Harm categories; a category without a rule is not analysed. */
    categories: z
      .object({ hate: categoryRule.optional(), sexual: categoryRule.optional(), violence: categoryRule.optional(), selfHarm: categoryRule.optional() })
      .strict()
      .default({}),
    /** Blocklists kept in the Content Safety account; a match gets `action`. */
    blocklists: z
      .object({ names: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be a blocklist name (letters, digits, _ and -)")).min(1), action: z.enum(SAFETY_ACTIONS).default("block") })
      .strict()
      .optional(),
    /** Analyse the model's answer too (categories and blocklists), streamed answers in windows of `outputWindowChars`. */
    output: z.boolean().default(false),
    outputWindowChars: z.number().int().min(100).max(10_000).default(1000),
    /** Data classes screened; requests of other classes skip content safety. */
    classes: z.array(z.enum(SCREENABLE_CLASSES)).min(1).default([...SCREENABLE_CLASSES]),
    /** The service unreachable, slow or failing: refuse with 503 (fail_closed) or pass and record it (fail_open). */
    onUnavailable: z
      .object({ shields: z.enum(FAILURE_MODES).default("fail_closed"), categories: z.enum(FAILURE_MODES).default("fail_closed") })
      .strict()
      .default({ shields: "fail_closed", categories: "fail_closed" }),
    timeoutInMs: z.number().int().positive().max(30_000).default(2000),
  })
  .strict();

export type ContentSafetyPolicy = z.infer<typeof contentSafetyPolicySchema>;
export type ContentSafetyPolicyInput = z.input<typeof contentSafetyPolicySchema>;
