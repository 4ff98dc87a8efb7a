// Google OAuth: access tokens from a mailbox's refresh token, cached per credential.
import type { GoogleCredentials } from "../domain/mailbox.ts";
import { credentialKey, type TokenCache } from "./token-cache.ts";

export interface GoogleAuthOptions {
  tokenUrl: string;
  tokens: TokenCache;
  timeoutMs: number;
}

export const googleTokenKey = (c: GoogleCredentials) => credentialKey("google", c.clientId, c.clientSecret, c.refreshToken);

export function googleAccessToken(options: GoogleAuthOptions, credentials: GoogleCredentials, signal?: AbortSignal): Promise<string> {
  return options.tokens.get(
    googleTokenKey(credentials),
    options.tokenUrl,
    { grant_type: "refresh_token", refresh_token: credentials.refreshToken, client_id: credentials.clientId, client_secret: credentials.clientSecret },
    { timeoutMs: options.timeoutMs, ...(signal ? { signal } : {}) },
    "google",
  );
}
