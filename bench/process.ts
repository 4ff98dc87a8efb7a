// Processing benchmark: messages per second from MIME bytes to a committed ticket or comment
// through Inlet's processor (parse, classify, thread, idempotency record and every effect in one
// call), against a bare loop in the same run doing the same parse and storing the same rows the
// cheapest simple way: one prepared statement per message, so one transaction, that inserts the
// ticket row and one row per document with its sha256 (no idempotency, no threading, no contact).
// Small (~5 KB), typical (~75 KB: text + HTML + inline image + attachment) and attachment-heavy
// (~5 MB) mail, on PostgreSQL and on embedded PGlite (on disk, as the consumer runs it). Every
// fourth message replies to the one before it (threads into a comment).
// The inlet side also does what the consumer does around each message (consumer/app.ts): the
// metrics' fetch and processing timers and job counters, and the mailbox health recorder, which
// stores what it saw every 5 s in one statement.
// Peak memory is the RSS high-water mark sampled every 5 ms during each measured run.
// Writes bench/results/process.json and bench/results/process.md.
//   node bench/process.ts [--scale 1] [--rounds 3] [--only postgres-c8]     (TEST_DATABASE_URL: admin URL, default postgres://postgres@127.0.0.1:5432/test)
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parseMessage } from "../consumer/mime/parse.ts";
import { createProcessor } from "../consumer/processing/processor.ts";
import { InletMetrics } from "../consumer/metrics/metrics.ts";
import { MailboxHealthRecorder } from "../consumer/runtime/mailbox-health.ts";
import { timedProcessor } from "../consumer/runtime/timed-processor.ts";
import type { JobObserver } from "../consumer/runtime/settle.ts";
import { HealthStore } from "../consumer/store/health.ts";
import { createLogger } from "../consumer/runtime/log.ts";
import type { Db } from "../consumer/store/db.ts";
import { Mailboxes } from "../consumer/store/mailboxes.ts";
import { migrate } from "../consumer/store/migrations.ts";
import { openPglite } from "../consumer/store/pglite.ts";
import { openPostgres } from "../consumer/store/postgres.ts";
import { createPostgresDatabase } from "../test/support/database.ts";
import { buildMail } from "../test/support/mail.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SCALE = arg("scale", 1);
/** Measured rounds per scenario, each a bare run and an inlet run of a share of the messages. */
const ROUNDS = Math.max(1, arg("rounds", 6));
/** `--only pglite-c1` runs just the scenarios whose tag contains that text (for quick comparisons). */
const ONLY = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] ?? "" : "";
const TENANT = "bench";
const BARE_TENANT = "bare";

type Shape = "small" | "typical" | "heavy";
type Backend = "postgres" | "pglite";
const SHAPES: Shape[] = ["small", "typical", "heavy"];
// Heavy mail is slow, but a round of it needs more than a handful of messages to mean anything.
const COUNTS: Record<Shape, number> = { small: Math.round(4000 * SCALE), typical: Math.round(1000 * SCALE), heavy: Math.max(16, Math.round(120 * SCALE)) };
const PLAN: { backend: Backend; concurrency: number }[] = [
  { backend: "postgres", concurrency: 1 },
  { backend: "postgres", concurrency: 8 },
  { backend: "pglite", concurrency: 1 },
];

// ---- mail: one MIME body per shape, a fresh header block per message ----

/** Incompressible but deterministic bytes for attachments. */
function noise(n: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) bytes[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  return bytes;
}
const prose = (chars: number) => "Our VPN client drops the connection every few minutes since the update. ".repeat(Math.ceil(chars / 73)).slice(0, chars);

function template(shape: Shape): Uint8Array {
  const id = "TEMPLATE@bench.example";
  if (shape === "small") return buildMail({ id, body: prose(4_600) });
  if (shape === "typical") {
    return buildMail({
      id,
      body: prose(6_000),
      html: `<html><body><p>${prose(12_000)}</p><img src="cid:shot@bench.example"></body></html>`,
      attachments: [
        { filename: "screenshot.png", contentType: "image/png", bytes: noise(24_000, 1), contentId: "shot@bench.example" },
        { filename: "vpn-log.txt", contentType: "text/plain", bytes: noise(18_000, 2) },
      ],
    });
  }
  return buildMail({
    id,
    body: prose(2_000),
    attachments: [
      { filename: "capture.pcap", contentType: "application/octet-stream", bytes: noise(2_200_000, 3) },
      { filename: "report.pdf", contentType: "application/pdf", bytes: noise(1_500_000, 4) },
    ],
  });
}

/** Customers writing in: a helpdesk hears from many, so their contacts are not one hot row. */
const SENDERS = Number(process.env.BENCH_SENDERS ?? 250);

/** Message i of a run; every fourth one replies to the message before it. */
function mailMaker(shape: Shape): (run: string, i: number) => Uint8Array {
  const raw = template(shape);
  const split = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).indexOf("\r\n\r\n");
  const head = Buffer.from(raw.subarray(0, split)).toString("utf8");
  const body = raw.subarray(split);
  return (run, i) => {
    const reply = i % 4 === 3;
    const parent = `${run}-${i - 1}@bench.example`;
    const sender = Math.floor(i / 4) % SENDERS;
    let h = head
      .replaceAll("TEMPLATE@bench.example", `${run}-${i}@bench.example`)
      .replace(/^Subject: .*$/m, `Subject: ${reply ? "Re: " : ""}VPN drops ${run} ${reply ? i - 1 : i}`)
      .replace(/^From: .*$/m, `From: Customer ${sender} <customer${sender}@example.org>`);
    if (reply) h += `\r\nIn-Reply-To: <${parent}>\r\nReferences: <${parent}>`;
    const headBytes = Buffer.from(h, "utf8");
    const out = new Uint8Array(headBytes.byteLength + body.byteLength);
    out.set(headBytes, 0);
    out.set(body, headBytes.byteLength);
    return out;
  };
}

// ---- the two ways of storing a message ----

type Store = (raw: Uint8Array, i: number) => Promise<void>;

/** The ticket row and its documents in one statement (one round trip, one transaction), kept
 * prepared; the documents' bytes go concatenated in one binary parameter, cut by their sizes. */
const BARE_INSERT = `
  WITH ticket AS (
    INSERT INTO tickets (tenant_id, number, subject, message_id, description_text, description_full_text, description_html)
    VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING id)
  INSERT INTO documents (tenant_id, ticket_id, filename, content_type, size, sha256, content, content_id, inline)
  SELECT $1, ticket.id, d.filename, d.content_type, d.size, d.sha256,
         substring($13::bytea FROM (sum(d.size) OVER (ORDER BY d.n) - d.size + 1)::integer FOR d.size), d.content_id, d.inline
    FROM ticket, unnest($7::text[], $8::text[], $9::integer[], $10::text[], $11::text[], $12::boolean[]) WITH ORDINALITY AS d(filename, content_type, size, sha256, content_id, inline, n)`;

function bare(db: Db): Store {
  let number = 0;
  return async (raw) => {
    const p = await parseMessage(raw);
    const docs = p.attachments;
    await db.query(
      BARE_INSERT,
      [
        BARE_TENANT, ++number, p.subject, p.messageId ?? null, p.text, p.html ?? null,
        docs.map((a) => a.filename), docs.map((a) => a.contentType), docs.map((a) => a.size),
        docs.map((a) => createHash("sha256").update(a.content).digest("hex")), docs.map((a) => a.contentId ?? null), docs.map((a) => a.inline),
        docs.length === 0 ? null : Buffer.concat(docs.map((a) => a.content)),
      ],
      { prepare: true },
    );
  };
}

/** What the consumer adds around each message besides processing: the fetch and processing
 * timers and job counters of the metrics, and the mailbox health recorder (flushed to the
 * database every 5 s, as the consumer does). */
interface Observed {
  metrics: InletMetrics;
  health: MailboxHealthRecorder;
}

/** One processor for a whole scenario, as one long-running consumer (its caches warm up once). */
function inlet(db: Db, providerId: string, observed: Observed): (run: string) => Store {
  const processor = createProcessor({ db });
  return (run) => async (raw, i) => {
    const started = Date.now();
    const timed = timedProcessor(processor, "imap", observed.metrics);
    const outcome = await timed.process({ provider: "imap", tenantId: TENANT, providerId, providerMessageId: `${run}:${i}`, raw });
    const expected = i % 4 === 3 ? "comment" : "ticket";
    if (outcome.outcome !== "processed" || outcome.effect !== expected) throw new Error(`message ${i}: expected ${expected}, got ${JSON.stringify(outcome)}`);
    const claim = { jobId: `${run}:${i}`, token: "t", delivery: 1, leaseUntil: 0, job: { jobId: `${run}:${i}`, schemaVersion: 1 as const, provider: "imap" as const, tenantId: TENANT, providerId, enqueuedAt: started, attempt: 0, pointer: { mailbox: "INBOX", uidValidity: "1", uid: i + 1 } } };
    const observers: JobObserver[] = [observed.metrics, observed.health];
    for (const observer of observers) observer.settled(claim, { outcome: "processed", messages: 1 }, Date.now() - started);
  };
}

// ---- measurement ----

interface Measured {
  messagesPerSecond: number;
  seconds: number;
  peakRssMb: number;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

async function measure(count: number, concurrency: number, make: (i: number) => Uint8Array, store: Store): Promise<Measured> {
  gc();
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  // A reply waits until its parent is committed, as it would in a mailbox.
  const committed = new Map<number, { done: Promise<void>; resolve: () => void }>();
  const slot = (i: number) => {
    let entry = committed.get(i);
    if (!entry) {
      let resolve = () => {};
      const done = new Promise<void>((r) => (resolve = r));
      entry = { done, resolve };
      committed.set(i, entry);
    }
    return entry;
  };
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        if (i % 4 === 3) await slot(i - 1).done;
        await store(make(i), i);
        slot(i).resolve();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  return { messagesPerSecond: round1(count / seconds), seconds: round1(seconds), peakRssMb: Math.round(peak / 1024 / 1024) };
}

interface Scenario {
  backend: Backend;
  concurrency: number;
  shape: Shape;
  mimeBytes: number;
  messages: number;
  bare: Measured;
  inlet: Measured;
  /** Median of the rounds' inlet / bare ratios. */
  ratio: number;
  roundRatios: number[];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : Math.round(((sorted[mid - 1]! + sorted[mid]!) / 2) * 100) / 100;
};
/** The round with the median rate (its memory peak comes with it). */
const medianRun = (runs: Measured[]) => [...runs].sort((a, b) => a.messagesPerSecond - b.messagesPerSecond)[Math.floor(runs.length / 2)]!;

async function openBackend(backend: Backend): Promise<{ db: Db; drop(): Promise<void> }> {
  if (backend === "postgres") {
    const created = await createPostgresDatabase();
    const db = openPostgres(created.url, { max: 10 });
    return { db, drop: async () => (await db.close(), await created.drop()) };
  }
  const dir = mkdtempSync(join(tmpdir(), "inlet-bench-pglite-"));
  const db = await openPglite(dir);
  return { db, drop: async () => (await db.close(), rmSync(dir, { recursive: true, force: true })) };
}

/** Every processed message committed exactly one ticket or comment, and bare stored its share. */
async function check(db: Db): Promise<void> {
  const [row] = await db.query<{ processed: number; effects: number }>(
    `SELECT (SELECT count(*)::int FROM email_processed_messages) AS processed,
            (SELECT count(*)::int FROM tickets WHERE tenant_id = '${TENANT}') + (SELECT count(*)::int FROM ticket_comments WHERE message_id IS NOT NULL) AS effects`,
  );
  if (row!.processed !== row!.effects) throw new Error(`bench check: ${row!.processed} processed rows but ${row!.effects} tickets + comments`);
}

async function main(): Promise<void> {
  const generatedAt = new Date().toISOString();
  const scenarios: Scenario[] = [];
  const makers = Object.fromEntries(SHAPES.map((s) => [s, mailMaker(s)])) as Record<Shape, ReturnType<typeof mailMaker>>;
  for (const { backend, concurrency } of PLAN) {
    const { db, drop } = await openBackend(backend);
    try {
      await migrate(db);
      await db.query("INSERT INTO tenants (id, name) VALUES ($1, $1)", [BARE_TENANT]);
      const providerId = await new Mailboxes(db).add({ tenantId: TENANT, kind: "imap", address: "support@helpdesk.example", credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" } });
      const bareStore = bare(db);
      const mailboxes = new Mailboxes(db);
      const observed: Observed = { metrics: new InletMetrics({ processMetrics: false }), health: new MailboxHealthRecorder({ store: new HealthStore(db), listMailboxes: () => mailboxes.list(), log: createLogger({ level: "warn" }) }) };
      observed.health.start();
      for (const shape of SHAPES) {
        const count = COUNTS[shape];
        const tag = `${backend}-c${concurrency}-${shape}`;
        if (!tag.includes(ONLY)) continue;
        const make = (run: string) => (i: number) => makers[shape](run, i);
        // Warm both paths (JIT, pool connections, caches) on messages of their own.
        const warm = Math.max(4, Math.round(count / 10));
        await measure(warm, concurrency, make(`${tag}-wb`), bareStore);
        const inletStore = inlet(db, providerId, observed);
        await measure(warm, concurrency, make(`${tag}-wi`), inletStore(`${tag}-wi`));
        // Rounds alternate bare and inlet, so a slow spell of a shared machine hits both; the
        // ratio is the median of the rounds' ratios, the rates the median of each side's rounds.
        // Which side goes first alternates too, so neither always follows the other's writes.
        const perRound = Math.max(Math.ceil(count / ROUNDS), 2 * concurrency);
        const rounds: { bare: Measured; inlet: Measured }[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          const runBare = () => measure(perRound, concurrency, make(`${tag}-b${r}`), bareStore);
          const runInlet = () => measure(perRound, concurrency, make(`${tag}-i${r}`), inletStore(`${tag}-i${r}`));
          if (r % 2 === 0) rounds.push({ bare: await runBare(), inlet: await runInlet() });
          else {
            const n = await runInlet();
            rounds.push({ bare: await runBare(), inlet: n });
          }
        }
        const ratios = rounds.map((r) => Math.round((r.inlet.messagesPerSecond / r.bare.messagesPerSecond) * 100) / 100);
        const s: Scenario = { backend, concurrency, shape, mimeBytes: makers[shape]("x", 0).byteLength, messages: perRound, bare: medianRun(rounds.map((r) => r.bare)), inlet: medianRun(rounds.map((r) => r.inlet)), ratio: median(ratios), roundRatios: ratios };
        scenarios.push(s);
        process.stdout.write(`${tag.padEnd(22)} bare ${String(s.bare.messagesPerSecond).padStart(7)}/s (${s.bare.peakRssMb} MB)   inlet ${String(s.inlet.messagesPerSecond).padStart(7)}/s (${s.inlet.peakRssMb} MB)   ratio ${s.ratio} (rounds ${ratios.join(", ")})\n`);
      }
      await observed.health.stop();
      await check(db);
    } finally {
      await drop();
    }
  }
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? "unknown", node: process.version };
  const result = {
    generatedAt,
    machine,
    goal: "inlet >= 0.7 x bare",
    senders: SENDERS,
    method: `MIME bytes to committed ticket/comment; every 4th message a reply. bare = parse + one prepared statement per message (so one transaction) inserting the ticket row and one row per document with sha256; no idempotency, no threading, no contact. Warm-up runs first, then ${ROUNDS} rounds, each a bare run and an inlet run (alternating which goes first); ratio = median of the rounds' ratios.`,
    counts: COUNTS,
    scenarios,
    peakRssMbWholeRun: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  if (ONLY) return; // a partial run: the committed results stay as they are
  writeFileSync("bench/results/process.json", `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync("bench/results/process.md", markdown(generatedAt, machine, scenarios));
  process.stdout.write("wrote bench/results/process.json and bench/results/process.md\n");
}

function markdown(at: string, machine: { cpus: number; cpu: string; node: string }, scenarios: Scenario[]): string {
  const size = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${Math.round(n / 1024)} KB`);
  return [
    "# Processing benchmark",
    "",
    `${at}, ${machine.cpus} × ${machine.cpu}, Node ${machine.node}, PostgreSQL 15 on loopback (fsync on), PGlite 0.5 on disk, one Node process. Produced by \`npm run bench:process\`.`,
    "",
    `Messages per second from MIME bytes to a committed ticket or comment; every fourth message is a reply that threads into a comment; mail comes from ${SENDERS} customers (\`BENCH_SENDERS\`; with one sender for everything, their contact row is locked by every message and inlet loses about a tenth at concurrency 8).`,
    "**inlet**: the real processor (classification, threading under a lock per Message-ID, contact, per-tenant ticket number, documents with sha256, the idempotency record; one prepared call of `apply_message()`, one transaction).",
    "**bare**: the same parse, then the cheapest simple way to store the same rows: one prepared statement per message (so one transaction and one round trip) inserting the ticket row and one row per document with sha256; no idempotency, no threading, no contact. Goal: inlet ≥ 70% of bare.",
    "Peak RSS: the process's resident-memory high-water mark during the median round.",
    "",
    `${ROUNDS} rounds per row, each a bare run and an inlet run of \`messages\` messages (which goes first alternates); the rates are each side's median round, the ratio the median of the rounds' ratios (each round's in its own column), so one slow spell of a shared machine does not decide it.`,
    "",
    "| backend | concurrency | mail | messages | bare msg/s | inlet msg/s | inlet / bare | each round | bare peak RSS | inlet peak RSS |",
    "|---|---:|---|---:|---:|---:|---:|---|---:|---:|",
    ...scenarios.map(
      (s) => `| ${s.backend} | ${s.concurrency} | ${s.shape} (${size(s.mimeBytes)}) | ${s.messages} | ${s.bare.messagesPerSecond} | ${s.inlet.messagesPerSecond} | **${Math.round(s.ratio * 100)}%** | ${s.roundRatios.map((r) => `${Math.round(r * 100)}%`).join(", ")} | ${s.bare.peakRssMb} MB | ${s.inlet.peakRssMb} MB |`,
    ),
    "",
  ].join("\n");
}

await main();
