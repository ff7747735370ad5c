import { z } from "zod";

/** The 27 member states of the European Union (ISO 3166-1 alpha-2). */
export const EU_REGIONS = ["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"] as const;

/** The EEA members outside the EU, Switzerland and the United Kingdom: the rest of a European deployment's callers. */
export const EUROPE_OUTSIDE_EU = ["IS", "LI", "NO", "CH", "GB"] as const;

/**
 * Default national phone formats: every EU country, the rest of Europe's single market and the UK, and the
 * US (North American numbers are the most common foreign ones in European prompts). International
 * numbers ("+49 ...", "0049 ...") are recognised for every country whatever the setting.
 */
export const DEFAULT_PHONE_REGIONS: readonly string[] = [...EU_REGIONS, ...EUROPE_OUTSIDE_EU, "US"];

const GROUPS: Readonly<Record<string, readonly string[]>> = { EU: EU_REGIONS, EEA: [...EU_REGIONS, "IS", "LI", "NO"] };

/**
 * `dlp.phoneRegions` in the policy: ISO 3166-1 alpha-2 codes, or the groups "EU" and "EEA", expanded and
 * de-duplicated; default {@link DEFAULT_PHONE_REGIONS}.
 */
export const phoneRegionsSchema = z
  .array(z.string().regex(/^(?:[A-Z]{2}|EU|EEA)$/, "must be an ISO 3166-1 alpha-2 code such as DE or US, or EU / EEA"))
  .transform((regions) => [...new Set(regions.flatMap((region) => GROUPS[region] ?? [region]))])
  .default([...DEFAULT_PHONE_REGIONS]);
