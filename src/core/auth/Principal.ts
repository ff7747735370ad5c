import { type Role } from "../policy/schema.js";

/** A caller holding a Palisade API key: it belongs to exactly one project. */
export interface ServiceAccountPrincipal {
  readonly kind: "service-account";
  /** The service account id (policy.serviceAccounts[].id). */
  readonly id: string;
  readonly project: string;
  /** The API key's public id (never the secret). */
  readonly keyId: string;
}

/** A caller holding a Microsoft Entra ID token: a user, or an application with app roles. */
export interface UserPrincipal {
  readonly kind: "user";
  /** The Entra object id (oid) when the token has one, else the upn / preferred_username / email, else sub. */
  readonly id: string;
  readonly displayName?: string;
  /** Role per project id, from policy.members and from the token's app roles (`<project>.<role>`). */
  readonly roles: Readonly<Record<string, Role>>;
}

export type Principal = ServiceAccountPrincipal | UserPrincipal;
