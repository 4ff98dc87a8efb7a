// What a chain run must leave behind, checked with SQL on the run's PostgreSQL and with the
// queue's own scripts on its Redis:
//   every mail (but the poisoned) exactly one email_processed_messages row, as a ticket or a
//   comment, and exactly one ticket or comment carrying its Message-ID;
//   every conversation on one ticket, every reply on its parent's ticket;
//   each attachment exactly one document, on the ticket / comment its mail became;
//   the queue empty (ready, processing, inflight, delayed), and the dead-letter list holding
//   exactly the poisoned mails, each after exactly MAX_ATTEMPTS deliveries.
import pg from "pg";
import { queueConnectionConfig } from "../../consumer/config.ts";
import { connectQueue } from "../../consumer/runtime/queue-connection.ts";
import type { QueueStats } from "../../src/queue/queue.ts";
import type { PlannedMail, ProviderKind } from "./mail-plan.ts";
import { TENANT } from "./stack.ts";

export interface MailRef {
  index: number;
  provider: ProviderKind;
  messageId: string;
  providerMessageId: string;
}

export interface Verdict {
  ok: boolean;
  mails: number;
  expectedProcessed: number;
  processedRows: number;
  lost: number;
  duplicated: number;
  misThreaded: number;
  splitConversations: number;
  wrongOutcome: number;
  tickets: { expected: number; actual: number };
  comments: { expected: number; actual: number };
  documents: { expected: number; actual: number; duplicated: number; missing: number };
  deadLetters: { total: number; poisoned: number; poisonedFound: number; attempts: number[]; fetchesPerPoisoned: number[]; jobIds: string[]; unexpected: { id: string; lastError: string; attempts: number }[] };
  queue: QueueStats;
  /** Up to 20 of each kind of failure, to start an investigation from. */
  examples: { lost: MailRef[]; duplicated: string[]; misThreaded: { reply: string; replyTicket: number | null; parent: string; parentTicket: number | null }[]; wrongOutcome: { messageId: string; status: string; reason: string | null }[] };
}

interface ProcessedRow {
  identity: string;
  status: string;
  reason: string | null;
  ticket_id: number | null;
  comment_id: number | null;
}

export async function verifyRun(o: {
  plan: readonly PlannedMail[];
  providerMessageIds: ReadonlyMap<number, string>;
  databaseUrl: string;
  consumerEnv: Record<string, string>;
  maxAttempts: number;
  /** Fetches the Graph fake answered with the poison 500, per Graph message id. */
  poisonHits: (graphId: string) => number;
}): Promise<Verdict> {
  const client = new pg.Client({ connectionString: o.databaseUrl });
  client.on("error", () => undefined);
  await client.connect();
  try {
    const rows = (await client.query<ProcessedRow>("SELECT identity, status, reason, ticket_id::int AS ticket_id, comment_id::int AS comment_id FROM email_processed_messages WHERE tenant_id = $1", [TENANT])).rows;
    const byIdentity = new Map(rows.map((r) => [r.identity, r]));
    const ticketCounts = new Map((await client.query<{ message_id: string; n: number }>("SELECT message_id, count(*)::int AS n FROM tickets WHERE tenant_id = $1 AND message_id IS NOT NULL GROUP BY message_id", [TENANT])).rows.map((r) => [r.message_id, r.n]));
    const commentCounts = new Map(
      (await client.query<{ message_id: string; n: number }>("SELECT c.message_id, count(*)::int AS n FROM ticket_comments c JOIN tickets t ON t.id = c.ticket_id WHERE t.tenant_id = $1 AND c.message_id IS NOT NULL GROUP BY c.message_id", [TENANT])).rows.map((r) => [r.message_id, r.n]),
    );
    const [totals] = (await client.query<{ tickets: number; comments: number }>(
      "SELECT (SELECT count(*)::int FROM tickets WHERE tenant_id = $1) AS tickets, (SELECT count(*)::int FROM ticket_comments c JOIN tickets t ON t.id = c.ticket_id WHERE t.tenant_id = $1 AND NOT c.is_internal_note) AS comments",
      [TENANT],
    )).rows;
    const documents = (await client.query<{ ticket_id: number; comment_id: number | null; sha256: string; filename: string; n: number }>(
      "SELECT ticket_id::int AS ticket_id, comment_id::int AS comment_id, sha256, filename, count(*)::int AS n FROM documents WHERE tenant_id = $1 GROUP BY 1, 2, 3, 4",
      [TENANT],
    )).rows;

    const live = o.plan.filter((m) => !m.poisoned);
    const ref = (m: PlannedMail): MailRef => ({ index: m.index, provider: m.provider, messageId: m.messageId, providerMessageId: o.providerMessageIds.get(m.index) ?? "?" });
    const lost = live.filter((m) => !byIdentity.has(m.messageId));
    const landedPoisoned = o.plan.filter((m) => m.poisoned && byIdentity.has(m.messageId));
    const duplicated = o.plan.filter((m) => (ticketCounts.get(m.messageId) ?? 0) + (commentCounts.get(m.messageId) ?? 0) > 1).map((m) => m.messageId);
    const wrongOutcome = live.flatMap((m) => {
      const row = byIdentity.get(m.messageId);
      return row && row.status !== "ticket" && row.status !== "comment" ? [{ messageId: m.messageId, status: row.status, reason: row.reason }] : [];
    });
    const ticketOf = (m: PlannedMail) => byIdentity.get(m.messageId)?.ticket_id ?? null;
    const misThreaded = live.flatMap((m) => {
      if (m.parent === undefined) return [];
      const parent = o.plan[m.parent]!;
      if (!byIdentity.has(m.messageId) || !byIdentity.has(parent.messageId) || ticketOf(m) === ticketOf(parent)) return [];
      return [{ reply: m.messageId, replyTicket: ticketOf(m), parent: parent.messageId, parentTicket: ticketOf(parent) }];
    });
    const conversations = new Map<number, Set<number | null>>();
    for (const m of live) {
      if (!byIdentity.has(m.messageId)) continue;
      const set = conversations.get(m.root) ?? new Set();
      set.add(ticketOf(m));
      conversations.set(m.root, set);
    }
    const splitConversations = [...conversations.values()].filter((s) => s.size > 1).length;
    const expectedTickets = new Set(live.map((m) => m.root)).size;

    // Documents: each expected one found once on its mail's ticket / comment; anything else is extra.
    const docKey = (ticket: number | null, comment: number | null, sha: string, filename: string) => `${ticket}|${comment}|${sha}|${filename}`;
    const found = new Map(documents.map((d) => [docKey(d.ticket_id, d.comment_id, d.sha256, d.filename), d.n]));
    let expectedDocs = 0;
    let missingDocs = 0;
    for (const m of live) {
      const row = byIdentity.get(m.messageId);
      for (const a of m.attachments) {
        expectedDocs++;
        if (!row || !found.has(docKey(row.ticket_id, row.status === "comment" ? row.comment_id : null, a.sha256, a.filename))) missingDocs++;
      }
    }
    const actualDocs = documents.reduce((sum, d) => sum + d.n, 0);
    const duplicatedDocs = documents.reduce((sum, d) => sum + d.n - 1, 0);

    const connection = connectQueue(queueConnectionConfig(o.consumerEnv), { failFast: true });
    let queue: QueueStats;
    let deadLetters: Verdict["deadLetters"];
    try {
      queue = await connection.queue.stats();
      const dead = await connection.queue.deadLetters(0, 10_000);
      const poisonedIds = new Map(o.plan.filter((m) => m.poisoned).map((m) => [o.providerMessageIds.get(m.index) ?? "?", m]));
      const attempts: number[] = [];
      const unexpected: Verdict["deadLetters"]["unexpected"] = [];
      const seen = new Set<string>();
      for (const d of dead.records) {
        const pointer = (d.job?.pointer ?? {}) as { messageId?: string };
        if (d.job?.provider === "microsoft" && pointer.messageId && poisonedIds.has(pointer.messageId) && !seen.has(pointer.messageId)) {
          seen.add(pointer.messageId);
          attempts.push(d.attempts);
        } else unexpected.push({ id: d.id, lastError: d.lastError.slice(0, 200), attempts: d.attempts });
      }
      deadLetters = { total: dead.total, poisoned: poisonedIds.size, poisonedFound: seen.size, attempts, fetchesPerPoisoned: [...poisonedIds.keys()].map((id) => o.poisonHits(id)), jobIds: dead.records.map((d) => d.id), unexpected };
    } finally {
      connection.close();
    }

    const expectedComments = live.length - expectedTickets;
    const verdict: Verdict = {
      ok: false,
      mails: o.plan.length,
      expectedProcessed: live.length,
      processedRows: rows.length,
      lost: lost.length,
      duplicated: duplicated.length + landedPoisoned.length,
      misThreaded: misThreaded.length,
      splitConversations,
      wrongOutcome: wrongOutcome.length,
      tickets: { expected: expectedTickets, actual: totals!.tickets },
      comments: { expected: expectedComments, actual: totals!.comments },
      documents: { expected: expectedDocs, actual: actualDocs, duplicated: duplicatedDocs, missing: missingDocs },
      deadLetters,
      queue,
      examples: { lost: lost.slice(0, 20).map(ref), duplicated: [...duplicated, ...landedPoisoned.map((m) => `${m.messageId} (poisoned, yet processed)`)].slice(0, 20), misThreaded: misThreaded.slice(0, 20), wrongOutcome: wrongOutcome.slice(0, 20) },
    };
    verdict.ok =
      verdict.lost === 0 &&
      verdict.duplicated === 0 &&
      verdict.misThreaded === 0 &&
      verdict.splitConversations === 0 &&
      verdict.wrongOutcome === 0 &&
      rows.length === live.length &&
      totals!.tickets === expectedTickets &&
      totals!.comments === expectedComments &&
      missingDocs === 0 &&
      duplicatedDocs === 0 &&
      actualDocs === expectedDocs &&
      queue.ready + queue.processing + queue.inflight + queue.delayed === 0 &&
      deadLetters.total === deadLetters.poisoned &&
      deadLetters.poisonedFound === deadLetters.poisoned &&
      deadLetters.attempts.every((a) => a === o.maxAttempts) &&
      deadLetters.fetchesPerPoisoned.every((n) => n >= 1 && n <= o.maxAttempts);
    return verdict;
  } finally {
    await client.end();
  }
}

/** How far the run has come: processed rows of the tenant, the queue, the dead letters. */
export async function progressOf(databaseUrl: string, consumerEnv: Record<string, string>): Promise<{ processed: number; queue: QueueStats }> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  client.on("error", () => undefined);
  const connection = connectQueue(queueConnectionConfig(consumerEnv), { failFast: true });
  try {
    await client.connect();
    const [row] = (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM email_processed_messages WHERE tenant_id = $1", [TENANT])).rows;
    return { processed: row?.n ?? 0, queue: await connection.queue.stats() };
  } finally {
    connection.close();
    await client.end().catch(() => undefined);
  }
}
