// Processing benchmark: messages per second from MIME bytes to committed ticket through Inlet's
// processor (parse, classify, thread, one transaction with the idempotency record), against a
// bare loop doing the same parse and plain INSERTs (no idempotency, no threading), in the same
// run, on PostgreSQL and on PGlite, for small, typical and attachment-heavy mail; with peak memory.
// Writes bench/results/process.json and process.md.   node bench/process.ts
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { parseMessage } from "../consumer/mime/parse.ts";
import { createProcessor } from "../consumer/processing/processor.ts";
import { Mailboxes } from "../consumer/store/mailboxes.ts";
import type { Db } from "../consumer/store/db.ts";
import { buildMail } from "../test/support/mail.ts";
import { testDatabase, type Backend } from "../test/support/database.ts";

const SIZES = [
  { name: "small (5 KB)", count: 400, body: 5 * 1024, attachment: 0 },
  { name: "typical (75 KB)", count: 200, body: 15 * 1024, attachment: 60 * 1024 },
  { name: "attachment-heavy (5 MB)", count: 12, body: 10 * 1024, attachment: 5 * 1024 * 1024 },
];

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);

function corpus(size: (typeof SIZES)[number], run: string): Uint8Array[] {
  const text = "Hello support team, the printer on the third floor is offline again. ".repeat(Math.ceil(size.body / 70)).slice(0, size.body);
  const blob = new Uint8Array(size.attachment).map((_, i) => (i * 31) & 0xff);
  return Array.from({ length: size.count }, (_, i) =>
    buildMail({ id: `bench-${run}-${i}@example.org`, body: text, ...(size.attachment ? { attachment: { filename: `file-${i}.bin`, contentType: "application/octet-stream", bytes: blob } } : {}) }),
  );
}

async function timed(messages: Uint8Array[], one: (raw: Uint8Array, i: number) => Promise<unknown>): Promise<{ perSecond: number; peakRssMb: number }> {
  if (global.gc) global.gc();
  peakRss = process.memoryUsage().rss;
  const started = performance.now();
  for (const [i, raw] of messages.entries()) await one(raw, i);
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: +(messages.length / seconds).toFixed(1), peakRssMb: Math.round(peakRss / 1024 / 1024) };
}

/** The baseline: the same parse, then plain inserts of the ticket and its documents. */
async function bareInsert(db: Db, raw: Uint8Array, number: number): Promise<void> {
  const parsed = await parseMessage(raw);
  const [ticket] = await db.query<{ id: number }>(
    "INSERT INTO tickets (tenant_id, number, subject, message_id, description_text, description_full_text) VALUES ('bare', $1, $2, $3, $4, $4) RETURNING id",
    [number, parsed.subject, parsed.messageId ?? null, parsed.text],
  );
  for (const a of parsed.attachments) {
    await db.query("INSERT INTO documents (tenant_id, ticket_id, filename, content_type, size, sha256, content) VALUES ('bare', $1, $2, $3, $4, $5, $6)", [ticket!.id, a.filename, a.contentType, a.size, createHash("sha256").update(a.content).digest("hex"), a.content]);
  }
}

async function main() {
  const rows: { backend: Backend; size: string; messages: number; inlet: number; baseline: number; ratio: number; inletPeakRssMb: number; baselinePeakRssMb: number }[] = [];
  for (const backend of ["postgres", "pglite"] as Backend[]) {
    const t = await testDatabase(backend);
    await t.db.query("INSERT INTO tenants (id, name) VALUES ('bare', 'bare') ON CONFLICT DO NOTHING");
    const mailboxes = new Mailboxes(t.db);
    const providerId = await mailboxes.add({ tenantId: "bench", kind: "imap", address: "support@helpdesk.example", credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" } });
    const processor = createProcessor({ db: t.db, directory: mailboxes });
    let number = 0;
    for (const size of SIZES) {
      // Alternate the two so neither gets a warmer cache; both see fresh messages.
      await timed(corpus({ ...size, count: Math.min(size.count, 20) }, `warm-${backend}-${size.name}`), (raw, i) => processor.process({ provider: "imap", tenantId: "bench", providerId, providerMessageId: `w:${i}`, raw }));
      const baseline = await timed(corpus(size, `bare-${backend}-${size.name}`), (raw) => bareInsert(t.db, raw, ++number));
      const inlet = await timed(corpus(size, `inlet-${backend}-${size.name}`), (raw, i) => processor.process({ provider: "imap", tenantId: "bench", providerId, providerMessageId: `${size.name}:${i}`, raw }));
      const row = { backend, size: size.name, messages: size.count, inlet: inlet.perSecond, baseline: baseline.perSecond, ratio: +(inlet.perSecond / baseline.perSecond).toFixed(2), inletPeakRssMb: inlet.peakRssMb, baselinePeakRssMb: baseline.peakRssMb };
      rows.push(row);
      console.log(`${backend.padEnd(8)} ${size.name.padEnd(24)} inlet ${String(row.inlet).padStart(7)}/s  bare ${String(row.baseline).padStart(7)}/s  ratio ${row.ratio}  peak RSS ${row.inletPeakRssMb} MB`);
    }
    await t.drop();
  }
  clearInterval(sampler);
  const result = { date: new Date().toISOString(), machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version }, goal: "inlet >= 0.7 x baseline", rows };
  writeFileSync("bench/results/process.json", `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(
    "bench/results/process.md",
    [
      "# Processing benchmark",
      "",
      `${result.date}, ${result.machine.cpus} × ${result.machine.cpu}, Node ${result.machine.node}. Produced by \`npm run bench:process\`.`,
      "Inlet = parse + classify + thread + one transaction with the idempotency record, ticket and documents. Bare = the same parse + plain INSERTs (no idempotency, no threading). Messages processed one after another; peak RSS of the whole process.",
      "",
      "| backend | mail | messages | Inlet msg/s | bare msg/s | Inlet / bare | peak RSS (Inlet) |",
      "|---|---|---:|---:|---:|---:|---:|",
      ...rows.map((r) => `| ${r.backend} | ${r.size} | ${r.messages} | ${r.inlet} | ${r.baseline} | **${r.ratio}** | ${r.inletPeakRssMb} MB |`),
      "",
    ].join("\n"),
  );
  console.log("wrote bench/results/process.json and bench/results/process.md");
}

await main();
