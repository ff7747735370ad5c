/** A JSON object (not null, not an array): what a field of a request or an answer must be to be read by name. */
export const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
