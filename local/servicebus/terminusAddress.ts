/** A link's source or target as rhea hands it over. */
export interface Terminus {
  address?: string;
  filter?: Record<string, unknown> | null;
}

/** The address of a link's source or target, when it has one. */
export function terminusAddress(terminus: unknown): string | undefined {
  const address = (terminus as Terminus | undefined)?.address;
  return typeof address === "string" ? address : undefined;
}
