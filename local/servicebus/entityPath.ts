/** "sb://host/queue/x", "/queue/x" or "queue/x" -> "queue/x" (lower case); "" for the namespace. */
export function entityPathOf(address: string): string {
  let path = address;
  const scheme = path.indexOf("://");
  if (scheme >= 0) {
    const slash = path.indexOf("/", scheme + 3);
    path = slash >= 0 ? path.slice(slash + 1) : "";
  }
  return path.replace(/^\/+|\/+$/g, "").toLowerCase();
}
