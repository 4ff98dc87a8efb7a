// Google OAuth access tokens for a mailbox, cached per credential, mailbox and scope:
//   - refresh_token grant: the user's refresh token from the installed-app consent;
//   - JWT-bearer grant (domain-wide delegation): the service account signs a JWT with `iss` the
//     account, `sub` the mailbox it acts for, `scope`, `aud` the token endpoint, one hour at most,
//     RS256 with the key id of its JSON key.
import { importPKCS8, SignJWT } from "jose";
import { permanent } from "../domain/errors.ts";
import type { GoogleAuth, GoogleServiceAccount } from "../domain/mailbox.ts";
import { GMAIL_READONLY_SCOPE } from "./scopes.ts";
import { credentialKey, type AccessToken, type TokenCache } from "./token-cache.ts";

export const JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ASSERTION_LIFETIME_S = 3600;

export interface GoogleAuthOptions {
  tokenUrl: string;
  tokens: TokenCache;
  timeoutMs: number;
}

export interface GoogleTokenFor {
  /** The mailbox a service account acts for (ignored for a refresh token: it is the user's own). */
  subject?: string;
  scope?: string;
}

export const googleTokenKey = (auth: GoogleAuth, target: GoogleTokenFor = {}) =>
  auth.serviceAccount
    ? credentialKey("google-sa", target.scope ?? GMAIL_READONLY_SCOPE, target.subject ?? "", auth.serviceAccount.clientEmail, auth.serviceAccount.privateKeyId, auth.serviceAccount.privateKey)
    : credentialKey("google", auth.clientId, auth.clientSecret, auth.refreshToken);

export async function delegationAssertion(account: GoogleServiceAccount, subject: string, scope: string, tokenUrl: string, now = Date.now()): Promise<string> {
  const key = await importPKCS8(account.privateKey, "RS256");
  const iat = Math.floor(now / 1000);
  return new SignJWT({ scope })
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: account.privateKeyId })
    .setIssuer(account.clientEmail)
    .setSubject(subject)
    .setAudience(tokenUrl)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ASSERTION_LIFETIME_S)
    .sign(key);
}

export function googleToken(options: GoogleAuthOptions, auth: GoogleAuth, target: GoogleTokenFor, signal?: AbortSignal): Promise<AccessToken> {
  const form = async (): Promise<Record<string, string>> => {
    if (!auth.serviceAccount) return { grant_type: "refresh_token", refresh_token: auth.refreshToken, client_id: auth.clientId, client_secret: auth.clientSecret };
    if (!target.subject) throw permanent("google_subject_missing", "a service account token needs the mailbox it acts for");
    const assertion = await delegationAssertion(auth.serviceAccount, target.subject, target.scope ?? GMAIL_READONLY_SCOPE, options.tokenUrl);
    return { grant_type: JWT_BEARER_GRANT, assertion };
  };
  return options.tokens.get(googleTokenKey(auth, target), { url: options.tokenUrl, form, issuer: "google" }, { timeoutMs: options.timeoutMs, ...(signal ? { signal } : {}) });
}

/** A Gmail API access token for the mailbox `subject`. */
export async function googleAccessToken(options: GoogleAuthOptions, auth: GoogleAuth, signal?: AbortSignal, subject?: string): Promise<string> {
  return (await googleToken(options, auth, subject ? { subject } : {}, signal)).token;
}
