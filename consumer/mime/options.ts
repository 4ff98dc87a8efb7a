// How mail is read, from the environment, in one typed place:
//   INLET_MAIL_FALLBACK_CHARSET   charset for header bytes that are not UTF-8 and declare nothing
//                                 (default windows-1252, what Outlook and most Western mailers send)
//   INLET_TRUSTED_AUTHSERV_IDS    comma-separated authserv-ids whose Authentication-Results are
//                                 believed on IMAP mailboxes (and added to the built-in ones for
//                                 Microsoft 365 and Gmail), e.g. "mx.example.net"
import { MimeError } from "./errors.ts";

export const DEFAULT_FALLBACK_CHARSET = "windows-1252";

export interface MailOptions {
  fallbackCharset: string;
  trustedAuthservIds: string[];
}

export const DEFAULT_MAIL_OPTIONS: MailOptions = { fallbackCharset: DEFAULT_FALLBACK_CHARSET, trustedAuthservIds: [] };

/** A charset label TextDecoder accepts, lower-cased; throws `unknown_fallback_charset` otherwise. */
export function checkCharset(label: string): string {
  const charset = label.trim().toLowerCase();
  try {
    new TextDecoder(charset);
  } catch (cause) {
    throw new MimeError("unknown_fallback_charset", `fallback charset "${label}" cannot be decoded here`, { cause });
  }
  return charset;
}

export function parseAuthservIds(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((id) => id.trim().toLowerCase())
    .filter((id) => id !== "");
}

export function mailOptionsFromEnv(env: Record<string, string | undefined>): MailOptions {
  return {
    fallbackCharset: checkCharset(env.INLET_MAIL_FALLBACK_CHARSET || DEFAULT_FALLBACK_CHARSET),
    trustedAuthservIds: parseAuthservIds(env.INLET_TRUSTED_AUTHSERV_IDS),
  };
}
