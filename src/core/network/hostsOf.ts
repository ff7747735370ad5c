/**
 * The hosts a location names, lower-case: a URL's (https://x.search.windows.net), a MongoDB URI's
 * (mongodb+srv://user:password@cluster.example/..., several hosts separated by commas), or a bare host
 * (with or without a port); pinecone's environment is read as a host. Null when it names none.
 */
export function hostsOf(location: string): string[] | null {
  // Parsers differ on a backslash (WHATWG reads it as a slash), spaces and controls: refused, not guessed.
  if (/[\\\s\p{Cc}]/u.test(location)) return null;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location);
  let authority = location;
  if (scheme !== null) {
    const rest = location.slice(scheme[0].length);
    const end = rest.search(/[/?#]/);
    authority = end === -1 ? rest : rest.slice(0, end);
    // Credentials before the last `@` (a password may hold `@` only percent-encoded, but be safe).
    authority = authority.slice(authority.lastIndexOf("@") + 1);
  }
  const hosts = authority.split(",").map((part) => part.replace(/:\d*$/, "").toLowerCase());
  return hosts.every((host) => /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(host)) ? hosts : null;
}
