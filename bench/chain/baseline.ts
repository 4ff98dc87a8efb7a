// The end-to-end benchmark's baseline, run as its own process as the consumer is: the strongest
// simple loop over the same mail from the same fakes and Dovecot, with no edge and no queue.
// `concurrency` workers, each with its own PostgreSQL connection (and IMAP session), take the
// next message: fetch it (Graph $value, Gmail messages.get?format=raw, IMAP FETCH by UID), parse
// it with the consumer's parser, and store it in one transaction of prepared statements: the
// ticket row and one row per attachment with its sha256. No idempotency, threading, contacts or
// classification: what a loop that only has to get the mail into the tables costs.
//   node bench/chain/baseline.ts SPEC.json      → prints {"messages": n, "seconds": s} (setup not timed)
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { ImapFlow } from "imapflow";
import pg from "pg";
import { parseMessage } from "../../consumer/mime/parse.ts";

export interface BaselineSpec {
  databaseUrl: string;
  tenant: string;
  concurrency: number;
  graph: { baseUrl: string; loginUrl: string; azureTenantId: string; clientId: string; clientSecret: string; mailbox: string };
  gmail: { baseUrl: string; tokenUrl: string; clientId: string; clientSecret: string; refreshToken: string; user: string };
  imap: { host: string; port: number; user: string; password: string };
  /** In order: which provider holds each message and its id there (IMAP: the UID). */
  messages: { provider: "microsoft" | "google" | "imap"; id: string }[];
}

const TICKET = "INSERT INTO tickets (tenant_id, number, subject, message_id, description_text, description_full_text, description_html) VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING id";
const DOCUMENT = "INSERT INTO documents (tenant_id, ticket_id, filename, content_type, size, sha256, content, content_id, inline) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

async function token(url: string, form: Record<string, string>): Promise<string> {
  const answer = await fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form) });
  if (!answer.ok) throw new Error(`token endpoint answered ${answer.status}`);
  return ((await answer.json()) as { access_token: string }).access_token;
}

async function main(spec: BaselineSpec): Promise<void> {
  const graphToken = await token(`${spec.graph.loginUrl}/${spec.graph.azureTenantId}/oauth2/v2.0/token`, { grant_type: "client_credentials", client_id: spec.graph.clientId, client_secret: spec.graph.clientSecret, scope: "https://graph.microsoft.com/.default" });
  const gmailToken = await token(spec.gmail.tokenUrl, { grant_type: "refresh_token", client_id: spec.gmail.clientId, client_secret: spec.gmail.clientSecret, refresh_token: spec.gmail.refreshToken });
  const fetchGraph = async (id: string) => {
    const answer = await fetch(`${spec.graph.baseUrl}/users/${encodeURIComponent(spec.graph.mailbox)}/messages/${encodeURIComponent(id)}/$value`, { headers: { authorization: `Bearer ${graphToken}`, prefer: 'IdType="ImmutableId"' } });
    if (!answer.ok) throw new Error(`Graph answered ${answer.status} for ${id}`);
    return new Uint8Array(await answer.arrayBuffer());
  };
  const fetchGmail = async (id: string) => {
    const answer = await fetch(`${spec.gmail.baseUrl}/gmail/v1/users/${encodeURIComponent(spec.gmail.user)}/messages/${encodeURIComponent(id)}?format=raw`, { headers: { authorization: `Bearer ${gmailToken}` } });
    if (!answer.ok) throw new Error(`Gmail answered ${answer.status} for ${id}`);
    return new Uint8Array(Buffer.from(((await answer.json()) as { raw: string }).raw, "base64url"));
  };

  const pool = new pg.Pool({ connectionString: spec.databaseUrl, max: spec.concurrency });
  const [{ n: last } = { n: 0 }] = (await pool.query<{ n: number }>("SELECT coalesce(max(number), 0)::int AS n FROM tickets WHERE tenant_id = $1", [spec.tenant])).rows;
  let number = last;
  const workers = await Promise.all(
    Array.from({ length: spec.concurrency }, async () => {
      const db = await pool.connect();
      const imap = new ImapFlow({ host: spec.imap.host, port: spec.imap.port, secure: false, auth: { user: spec.imap.user, pass: spec.imap.password }, logger: false });
      imap.on("error", () => undefined);
      await imap.connect();
      await imap.mailboxOpen("INBOX", { readOnly: true });
      const fetchImap = async (uid: string) => {
        const message = await imap.fetchOne(uid, { source: true }, { uid: true });
        if (!message || !message.source) throw new Error(`IMAP has no UID ${uid}`);
        return new Uint8Array(message.source);
      };
      return { db, imap, fetchImap };
    }),
  );

  let next = 0;
  const started = performance.now();
  await Promise.all(
    workers.map(async ({ db, fetchImap }) => {
      while (next < spec.messages.length) {
        const item = spec.messages[next++]!;
        const raw = item.provider === "microsoft" ? await fetchGraph(item.id) : item.provider === "google" ? await fetchGmail(item.id) : await fetchImap(item.id);
        const p = await parseMessage(raw);
        await db.query("BEGIN");
        const ticket = await db.query<{ id: number }>({ name: "baseline_ticket", text: TICKET, values: [spec.tenant, ++number, p.subject, p.messageId ?? null, p.text, p.html ?? null] });
        for (const a of p.attachments) {
          await db.query({ name: "baseline_document", text: DOCUMENT, values: [spec.tenant, ticket.rows[0]!.id, a.filename, a.contentType, a.size, createHash("sha256").update(a.content).digest("hex"), a.content, a.contentId ?? null, a.inline] });
        }
        await db.query("COMMIT");
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const w of workers) {
    w.db.release();
    await w.imap.logout().catch(() => w.imap.close());
  }
  await pool.end();
  process.stdout.write(`${JSON.stringify({ messages: spec.messages.length, seconds })}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main(JSON.parse(readFileSync(process.argv[2]!, "utf8")) as BaselineSpec);
}
