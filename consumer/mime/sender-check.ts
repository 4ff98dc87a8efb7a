// Is the author genuine? A helpdesk that files mail under the contact named in From lets anyone
// post as a customer, so the receiving provider's own Authentication-Results decides:
//   suspicious  dmarc=fail, or spf=fail with no dkim=pass (and no dmarc=pass)
// Only the provider's own stamp is believed: anyone can write an Authentication-Results header
// into the mail they send. The stamp is the topmost one (a receiving MTA prepends its own, RFC 8601
// 5) whose authserv-id the mailbox's provider uses:
//   microsoft  no authserv-id (Exchange Online Protection writes none)
//   google     mx.google.com
//   imap       none built in: the operator names their server's authserv-id
//              (INLET_TRUSTED_AUTHSERV_IDS), since on other paths the header proves nothing
// Operator-named ids are trusted for every provider (a gateway in front of Microsoft 365, say).
// No stamp, or one that says nothing, is not suspicious: absence of evidence decides nothing.
import { parseAuthenticationResults, type MethodResult } from "./authentication-results.ts";

export type MailboxProvider = "microsoft" | "google" | "imap";

export interface TrustPolicy {
  provider: MailboxProvider;
  /** Lower-cased authserv-ids to believe besides the provider's own. */
  trustedAuthservIds?: readonly string[];
}

export interface SenderCheck {
  /** The stamp that was believed; undefined when the message carries none from a trusted server. */
  authentication:
    | { authservId: string | null; dmarc: string | null; spf: string | null; dkim: string[]; headerFrom: string | null }
    | undefined;
  suspicious: boolean;
  /** Why, e.g. "dmarc=fail header.from=bank.example"; undefined when not suspicious. */
  reason: string | undefined;
}

const PROVIDER_STAMP: Record<MailboxProvider, (authservId: string | undefined) => boolean> = {
  microsoft: (id) => id === undefined,
  google: (id) => id === "mx.google.com",
  imap: () => false,
};

export function checkSender(headers: Map<string, string[]>, policy: TrustPolicy): SenderCheck {
  const trusted = new Set(policy.trustedAuthservIds ?? []);
  const own = PROVIDER_STAMP[policy.provider];
  const stamp = (headers.get("authentication-results") ?? [])
    .map(parseAuthenticationResults)
    .find((r) => own(r.authservId) || (r.authservId !== undefined && trusted.has(r.authservId)));
  if (!stamp) return { authentication: undefined, suspicious: false, reason: undefined };

  const first = (method: string) => stamp.results.find((r) => r.method === method);
  const dmarc = first("dmarc");
  const spf = first("spf");
  const dkim = stamp.results.filter((r) => r.method === "dkim").map((r) => r.result);
  const authentication = {
    authservId: stamp.authservId ?? null,
    dmarc: dmarc?.result ?? null,
    spf: spf?.result ?? null,
    dkim,
    headerFrom: dmarc?.properties["header.from"] ?? null,
  };
  const describe = (r: MethodResult, property: string) => `${r.method}=${r.result}${r.properties[property] ? ` ${property}=${r.properties[property]}` : ""}`;
  if (dmarc?.result === "fail") return { authentication, suspicious: true, reason: describe(dmarc, "header.from") };
  if (spf?.result === "fail" && !dkim.includes("pass") && dmarc?.result !== "pass") {
    return { authentication, suspicious: true, reason: `${describe(spf, "smtp.mailfrom")}, no dkim=pass` };
  }
  return { authentication, suspicious: false, reason: undefined };
}
