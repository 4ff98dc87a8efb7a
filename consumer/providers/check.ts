// `inlet providers check ID`: proof that the stored grant reads the mailbox, step by step.
//   Microsoft: an app-only token for the customer tenant, then the mailbox's Inbox through Graph
//              (a 403 there: Mail.Read is not granted, or an application access policy excludes it)
//   Gmail:     an access token (refresh token or service account), then the profile, whose
//              address must be the mailbox's
//   IMAP:      a login (password, or XOAUTH2 with a fresh token), then EXAMINE of the folder
// A failed step stops the check; its InletError code and message say why.
import { ImapFlow } from "imapflow";
import { InletError, authorisationLost, retryable } from "../domain/errors.ts";
import { mailboxOfKind, type MailboxRecord } from "../domain/mailbox.ts";
import type { ProviderApis } from "../provider-api/apis.ts";
import { gmailProfile } from "../provider-api/gmail-messages.ts";
import { inboxFolder } from "../provider-api/graph-messages.ts";
import { imapAuthRefused, imapLogin } from "../resolvers/imap-connection.ts";

export interface CheckStep {
  step: string;
  ok: boolean;
  detail?: string;
  code?: string;
}

export interface CheckReport {
  providerId: string;
  kind: string;
  address: string;
  ok: boolean;
  steps: CheckStep[];
}

type Step = () => Promise<string | undefined>;

async function runSteps(steps: [string, Step][]): Promise<{ ok: boolean; steps: CheckStep[] }> {
  const done: CheckStep[] = [];
  for (const [name, step] of steps) {
    try {
      const detail = await step();
      done.push({ step: name, ok: true, ...(detail ? { detail } : {}) });
    } catch (error) {
      const code = error instanceof InletError ? error.code : "unexpected_error";
      done.push({ step: name, ok: false, code, detail: error instanceof Error ? error.message.slice(0, 300) : String(error) });
      return { ok: false, steps: done };
    }
  }
  return { ok: true, steps: done };
}

async function checkImap(apis: ProviderApis, mailbox: MailboxRecord & { kind: "imap" }): Promise<[string, Step][]> {
  const c = mailbox.credentials;
  const folder = c.folder ?? "INBOX";
  let client: ImapFlow | undefined;
  const timeout = apis.timeoutMs;
  return [
    [
      "login",
      async () => {
        const login = await imapLogin(c, apis.imapTokens);
        client = new ImapFlow({ ...login.options, connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout });
        client.on("error", () => undefined);
        try {
          await client.connect();
        } catch (error) {
          if (imapAuthRefused(error)) throw authorisationLost("imap_auth_failed", "the IMAP server refused the login", { cause: error });
          throw retryable("imap_connect_failed", `cannot connect to ${c.host}:${c.port}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        }
        return `${c.user} at ${c.host}:${c.port} (${c.oauth ? "XOAUTH2" : c.accessToken ? "a fixed access token" : "password"})`;
      },
    ],
    [
      "select",
      async () => {
        try {
          const opened = await client!.mailboxOpen(folder, { readOnly: true });
          return `${folder}: ${opened.exists} messages, UIDVALIDITY ${String(opened.uidValidity)}`;
        } finally {
          await client!.logout().catch(() => client!.close());
        }
      },
    ],
  ];
}

export async function checkMailbox(apis: ProviderApis, mailbox: MailboxRecord): Promise<CheckReport> {
  const base = { providerId: mailbox.providerId, kind: mailbox.kind, address: mailbox.address };
  const microsoft = mailboxOfKind(mailbox, "microsoft");
  const google = mailboxOfKind(mailbox, "google");
  const imap = mailboxOfKind(mailbox, "imap");
  let steps: [string, Step][] = [];
  if (microsoft) {
    const { credentials } = microsoft;
    steps = [
      ["token", async () => (await apis.graph.token(credentials), `app-only token for tenant ${credentials.azureTenantId} (${credentials.certificate ? "certificate" : "client secret"})`)],
      ["inbox", async () => `Graph reads the Inbox of ${mailbox.address}: ${(await inboxFolder(apis.graph, credentials, mailbox.address)).totalItemCount ?? "?"} messages`],
    ];
  } else if (google) {
    const { credentials } = google;
    steps = [
      ["token", async () => (await apis.gmail.token(credentials, mailbox.address), credentials.serviceAccount ? `service account ${credentials.serviceAccount.clientEmail} acting for ${mailbox.address}` : "the mailbox's refresh token")],
      [
        "profile",
        async () => {
          const profile = await gmailProfile({ gmail: apis.gmail, credentials, address: mailbox.address });
          if (profile.emailAddress && profile.emailAddress.toLowerCase() !== mailbox.address) throw authorisationLost("google_wrong_mailbox", `the grant reads ${profile.emailAddress}, not ${mailbox.address}`);
          return `Gmail reads ${profile.emailAddress ?? mailbox.address}: ${profile.messagesTotal ?? "?"} messages`;
        },
      ],
    ];
  } else if (imap) {
    steps = await checkImap(apis, imap);
  }
  return { ...base, ...(await runSteps(steps)) };
}
