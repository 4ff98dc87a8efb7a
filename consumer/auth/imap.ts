// Access tokens for IMAP SASL XOAUTH2: Exchange Online's IMAP takes an app-only token of the
// mailbox's Entra app (scope https://outlook.office365.com/.default, the mailbox named as the SASL
// user); Gmail's takes a token with https://mail.google.com/, from the user's refresh token or a
// service account acting for the mailbox. Cached like every other token, so each new IMAP login
// gets one that is good for at least the margin, and a session can be renewed before it expires.
import type { ImapCredentials } from "../domain/mailbox.ts";
import { googleToken } from "./google.ts";
import { microsoftToken } from "./microsoft.ts";
import { GOOGLE_IMAP_SCOPE, OUTLOOK_IMAP_APP_SCOPE } from "./scopes.ts";
import type { AccessToken, TokenCache } from "./token-cache.ts";

/** The token to log in with, or undefined for a password login (or a fixed token). */
export type ImapTokenSource = (credentials: ImapCredentials, signal?: AbortSignal) => Promise<AccessToken | undefined>;

export interface ImapTokenOptions {
  loginBaseUrl: string;
  googleTokenUrl: string;
  tokens: TokenCache;
  timeoutMs: number;
}

export function createImapTokenSource(o: ImapTokenOptions): ImapTokenSource {
  return async (credentials, signal) => {
    const { oauth } = credentials;
    if (!oauth) return undefined;
    if (oauth.provider === "microsoft") return microsoftToken({ loginBaseUrl: o.loginBaseUrl, tokens: o.tokens, timeoutMs: o.timeoutMs }, oauth, OUTLOOK_IMAP_APP_SCOPE, signal);
    return googleToken({ tokenUrl: o.googleTokenUrl, tokens: o.tokens, timeoutMs: o.timeoutMs }, oauth, { subject: credentials.user, scope: GOOGLE_IMAP_SCOPE }, signal);
  };
}
