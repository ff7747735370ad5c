/** Resolves `%NAME%` binding expressions from settings, as the Functions host does. */
export function resolveSetting(value: string, environment: Readonly<Record<string, string | undefined>>): string {
  return value.replace(/%([^%]+)%/g, (_, name: string) => {
    const resolved = environment[name];
    if (resolved === undefined) throw new Error(`binding expression %${name}% has no setting named ${name}`);
    return resolved;
  });
}
