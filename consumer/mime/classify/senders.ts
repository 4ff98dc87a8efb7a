// Who sent a notification, from the raw From header (not the parsed author: a daemon's From is
// often unusable as an address, `MAILER-DAEMON <>`, `<MAILER-DAEMON>`, Courier's `<@>`).
//   daemon      the mail system itself: nobody writes as MAILER-DAEMON, so this alone decides
//   postmaster  the mail system or the person who runs it: a signal, never proof
import { addressParser } from "postal-mime";
import { header, type ParsedMessage } from "../parse.ts";

export type SenderKind = "daemon" | "postmaster";

// Local parts and bare names mail systems send notifications as (RFC 5321 4.5.5 leaves the name to
// the MTA; these are the ones Sendmail, Postfix, Exim, qmail, Gmail, Yahoo, iCloud, SES, mail.ru,
// GMX and Zoho use).
const DAEMON_LOCAL_PART = /^(?:mailer[-_.]?daemon|mail[-_.]?daemon)$/i;
// MDaemon sends its notices as MDaemon@<domain> (it also stamps X-MDDSN-Message, see bounce.ts).
const MDAEMON_LOCAL_PART = /^mdaemon$/i;
// Exchange and Exchange Online send NDRs from a system mailbox named MicrosoftExchange + 32 hex digits.
const EXCHANGE_SYSTEM_MAILBOX = /^microsoftexchange[0-9a-f]{32}$/i;
// Display names of delivery software (Postfix, Exim, Sendmail, Gmail; Courier "Courier mail server at <host>").
const DAEMON_NAME = /^(?:mailer[-_ ]?daemon|mail delivery (?:system|subsystem|service)|mail administrator|courier mail server at \S+)$/i;
const POSTMASTER = /^postmaster$/i;

export function senderKind(message: ParsedMessage): { kind: SenderKind; evidence: string } | undefined {
  const value = header(message, "from");
  if (!value) return undefined;
  const first = addressParser(value, { flatten: true })[0];
  if (!first || "group" in first && first.group) return undefined;
  const address = (first.address ?? "").trim();
  const name = (first.name ?? "").trim();
  const local = address.includes("@") ? address.slice(0, address.lastIndexOf("@")) : address;
  if (DAEMON_LOCAL_PART.test(local) || EXCHANGE_SYSTEM_MAILBOX.test(local) || MDAEMON_LOCAL_PART.test(local)) return { kind: "daemon", evidence: "daemon_address" };
  // `MAILER-DAEMON <>` and `<MAILER-DAEMON>`: the name is all there is.
  if (!address.includes("@") && DAEMON_LOCAL_PART.test(name)) return { kind: "daemon", evidence: "daemon_name" };
  if (DAEMON_NAME.test(name)) return { kind: "daemon", evidence: "daemon_name" };
  if (POSTMASTER.test(local) || (!address.includes("@") && POSTMASTER.test(name))) return { kind: "postmaster", evidence: "postmaster" };
  return undefined;
}

/**
 * The envelope sender was null (RFC 5321 4.5.5: DSNs, and per RFC 3834 auto-responses, are sent
 * with `MAIL FROM:<>`), as the delivering server recorded it in Return-Path. Some write the null
 * path as `<MAILER-DAEMON>`.
 */
export function nullReturnPath(message: ParsedMessage): boolean {
  const value = header(message, "return-path");
  if (value === undefined) return false;
  const path = value.trim().replace(/^<\s*|\s*>$/g, "");
  return path === "" || /^mailer-daemon(?:@|$)/i.test(path);
}
