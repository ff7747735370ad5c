import type { AccessToken, TokenCredential } from "@azure/identity";

/**
 * The local stack's credential: a fixed token that the local emulators accept (they check that a
 * token is presented, not who presented it). Never used against Azure.
 */
export class LocalDevelopmentCredential implements TokenCredential {
  static readonly TOKEN = "palisade-local-development-token";

  async getToken(): Promise<AccessToken> {
    return { token: LocalDevelopmentCredential.TOKEN, expiresOnTimestamp: Date.now() + 60 * 60 * 1000 };
  }
}
