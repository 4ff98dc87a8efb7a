import type { ImapFlowOptions } from "imapflow";
import type { ImapTokenSource } from "../auth/imap.ts";
import type { ImapCredentials } from "../domain/mailbox.ts";

/** How to reach and log in to an IMAP mailbox, for imapflow: a password, or an OAuth2 access
 * token (imapflow sends it as SASL XOAUTH2, or OAUTHBEARER where the server offers that). */
export function imapConnectionOptions(c: ImapCredentials, accessToken?: string): ImapFlowOptions {
  const token = accessToken ?? c.accessToken;
  return {
    host: c.host,
    port: c.port,
    secure: c.secure,
    auth: token ? { user: c.user, accessToken: token } : { user: c.user, pass: c.password ?? "" },
    logger: false,
  };
}

export interface ImapLogin {
  options: ImapFlowOptions;
  /** When a session logged in with this token should log in again with a fresh one (epoch ms);
   * undefined for a password. */
  renewAt: number | undefined;
}

/** The options for one login: with a token fresh from `tokens` when the mailbox uses OAuth. */
export async function imapLogin(c: ImapCredentials, tokens: ImapTokenSource | undefined, signal?: AbortSignal): Promise<ImapLogin> {
  const token = c.oauth && tokens ? await tokens(c, signal) : undefined;
  return { options: imapConnectionOptions(c, token?.token), renewAt: token?.refreshAt };
}

/** Whether imapflow's error is the server refusing the login. */
export function imapAuthRefused(error: unknown): boolean {
  const e = error as { authenticationFailed?: boolean; serverResponseCode?: string };
  return e.authenticationFailed === true || e.serverResponseCode === "AUTHENTICATIONFAILED";
}
