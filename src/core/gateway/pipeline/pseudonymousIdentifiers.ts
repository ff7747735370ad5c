/**
 * Fields beside `user` that identify the end user to the provider: `safety_identifier` (OpenAI's
 * successor to `user`, "a hash of the username or email") and `prompt_cache_key` (which apps set to
 * a user or session id). Callers put emails and account ids there; they were sent upstream as they
 * came. Each goes upstream as the same pseudonym `user` gets (stable per project and value, so abuse
 * monitoring and prompt caching still work), or not at all without a digest key.
 */
const IDENTIFIER_FIELDS = ["safety_identifier", "prompt_cache_key"] as const;

export function withPseudonymousIdentifiers(body: Readonly<Record<string, unknown>>, pseudonym: (value: string) => string | null): Readonly<Record<string, unknown>> {
  if (!IDENTIFIER_FIELDS.some((field) => field in body)) return body;
  const out: Record<string, unknown> = { ...body };
  for (const field of IDENTIFIER_FIELDS) {
    const value = out[field];
    if (typeof value !== "string" || value === "") continue;
    const replaced = pseudonym(value);
    if (replaced === null) delete out[field];
    else out[field] = replaced;
  }
  return out;
}
