// Threading under concurrency: every message of a conversation processed at the same time, each
// on a connection of its own (PostgreSQL) or queued on the one embedded database (PGlite), still
// makes one ticket per conversation: whichever message commits first opens it, the others thread
// onto it, whatever order they started or finished in.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProcessor } from "../../../consumer/processing/processor.ts";
import type { MessageProcessor, ProcessOutcome } from "../../../consumer/domain/message.ts";
import { Mailboxes } from "../../../consumer/store/mailboxes.ts";
import { backends, testDatabase, type TestDatabase } from "../../support/database.ts";
import { buildMail } from "../../support/mail.ts";

/** A conversation of `length` messages: each replies to the one before and references them all. */
function conversation(name: string, length: number): Uint8Array[] {
  const ids = Array.from({ length }, (_, i) => `${name}-m${i}@customer.example`);
  return ids.map((id, i) =>
    buildMail({ id, subject: `${i === 0 ? "" : "Re: "}Printer ${name}`, body: `Message ${i} of ${name}`, ...(i > 0 ? { inReplyTo: ids[i - 1]!, references: ids.slice(0, i) } : {}) }),
  );
}

describe.each(backends)("threading under concurrency on %s", (backend) => {
  let t: TestDatabase;
  let processor: MessageProcessor;
  let providerId: string;
  beforeAll(async () => {
    t = await testDatabase(backend);
    providerId = await new Mailboxes(t.db).add({ tenantId: "acme", kind: "imap", address: "support@helpdesk.example", credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" } });
    processor = createProcessor({ db: t.db });
  });
  afterAll(async () => t.drop());

  /** Every message of the conversation in flight at once; then the tickets its messages landed on. */
  async function processAtOnce(name: string, length: number): Promise<{ outcomes: ProcessOutcome[]; tickets: number[] }> {
    const mails = conversation(name, length);
    const outcomes = await Promise.all(mails.map((raw, i) => processor.process({ provider: "imap", tenantId: "acme", providerId, providerMessageId: `${name}:${i}`, raw })));
    const rows = await t.db.query<{ ticket_id: number }>("SELECT DISTINCT ticket_id FROM email_processed_messages WHERE tenant_id = 'acme' AND identity LIKE $1", [`${name}-m%`]);
    return { outcomes, tickets: rows.map((r) => r.ticket_id) };
  }

  it("50 parent/reply pairs, both messages of each in flight at once: one ticket per pair, the other message its comment", async () => {
    const split: string[] = [];
    const effects = new Set<string>();
    for (let n = 0; n < 50; n++) {
      const { outcomes, tickets } = await processAtOnce(`pair${n}`, 2);
      if (tickets.length !== 1) split.push(`pair${n}`);
      effects.add(outcomes.map((o) => (o.outcome === "processed" ? o.effect : o.reason)).sort().join(","));
    }
    expect(split).toEqual([]);
    expect([...effects]).toEqual(["comment,ticket"]);
  });

  it("20 five-message conversations, all five messages in flight at once: one ticket per conversation with four comments", async () => {
    const split: string[] = [];
    for (let n = 0; n < 20; n++) {
      const { tickets } = await processAtOnce(`conv${n}`, 5);
      if (tickets.length !== 1) split.push(`conv${n}`);
      else {
        const [row] = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM ticket_comments WHERE ticket_id = $1", [tickets[0]!]);
        expect(row!.n).toBe(4);
      }
    }
    expect(split).toEqual([]);
  });
});
