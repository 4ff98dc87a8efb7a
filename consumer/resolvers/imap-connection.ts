import type { ImapFlowOptions } from "imapflow";
import type { ImapCredentials } from "../domain/mailbox.ts";

/** How to reach and log in to an IMAP mailbox (password or OAuth2 access token), for imapflow. */
export function imapConnectionOptions(c: ImapCredentials): ImapFlowOptions {
  return {
    host: c.host,
    port: c.port,
    secure: c.secure,
    auth: c.accessToken ? { user: c.user, accessToken: c.accessToken } : { user: c.user, pass: c.password ?? "" },
    logger: false,
  };
}
