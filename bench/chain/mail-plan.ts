// The mail a chain run sends: which provider delivers each message, which earlier message it
// replies to (In-Reply-To and the References chain, "Re:" subject), which are poisoned (Graph
// answers 500 on every fetch of them) and which carry attachments. Deterministic for a seed.
// Shapes: "small" (~2 KB, every eighth with one or two attachments of 1-3 KB) for the chaos
// run, "typical" (~75 KB: text, HTML, an inline image and an attachment) for the benchmark.
import { createHash } from "node:crypto";
import { buildMail, type MailAttachment } from "../../test/support/mail.ts";

export type ProviderKind = "microsoft" | "google" | "imap";
export const PROVIDERS: readonly ProviderKind[] = ["microsoft", "google", "imap"];

export interface PlannedMail {
  index: number;
  provider: ProviderKind;
  messageId: string;
  /** The message this one replies to, and the first message of its conversation. */
  parent: number | undefined;
  root: number;
  poisoned: boolean;
  /** sha256 of each attachment's bytes, as the documents table stores it. */
  attachments: { filename: string; sha256: string }[];
  raw(): Uint8Array;
}

export interface PlanOptions {
  count: number;
  seed: number;
  /** Makes Message-IDs unique to the run (several runs may share a database). */
  runId: string;
  shape: "small" | "typical";
  /** How many Graph mails are poisoned (spread over the run). */
  poisoned?: number;
  replyShare?: number;
  /** A reply's parent is at least this many messages earlier (so it has had time to arrive). */
  minReplyGap?: number;
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Incompressible, deterministic bytes. */
function noise(n: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) bytes[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  return bytes;
}
const prose = (chars: number, salt: number) => `Case ${salt}: the VPN client drops the connection every few minutes since the update. `.repeat(Math.ceil(chars / 80)).slice(0, chars);
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

export function planMail(o: PlanOptions): PlannedMail[] {
  const rnd = random(o.seed);
  const replyShare = o.replyShare ?? 0.25;
  const gap = o.minReplyGap ?? 10;
  const poisonedCount = o.poisoned ?? 0;
  const microsoftIndexes: number[] = [];
  const plan: PlannedMail[] = [];
  const refs = new Map<number, string[]>(); // References chain of each message
  const subjects = new Map<number, string>();
  for (let i = 0; i < o.count; i++) {
    const provider = PROVIDERS[i % 3]!;
    if (provider === "microsoft") microsoftIndexes.push(i);
    plan.push({ index: i, provider, messageId: `${o.runId}-${i}@customer.example`, parent: undefined, root: i, poisoned: false, attachments: [], raw: () => new Uint8Array() });
  }
  // Poison Graph mail spread over the run, never the very first ones (they open conversations).
  for (let k = 0; k < poisonedCount && microsoftIndexes.length > 0; k++) {
    const at = microsoftIndexes[Math.min(microsoftIndexes.length - 1, Math.floor(((k + 0.5) / poisonedCount) * microsoftIndexes.length))]!;
    plan[at]!.poisoned = true;
  }
  for (const mail of plan) {
    const i = mail.index;
    const candidates = i - gap;
    if (!mail.poisoned && candidates > 0 && rnd() < replyShare) {
      // A parent among the 400 before the gap, never a poisoned one (it never lands).
      for (let tries = 0; tries < 8; tries++) {
        const p = Math.max(0, candidates - 1 - Math.floor(rnd() * Math.min(400, candidates)));
        if (!plan[p]!.poisoned) {
          mail.parent = p;
          mail.root = plan[p]!.root;
          break;
        }
      }
    }
    const parent = mail.parent === undefined ? undefined : plan[mail.parent]!;
    const references = parent ? [...(refs.get(parent.index) ?? []), parent.messageId].slice(-10) : [];
    refs.set(i, references);
    const subject = parent ? `Re: ${subjects.get(mail.root)!}` : `VPN drops, case ${o.runId} ${i}`;
    if (!parent) subjects.set(i, subject);
    const attachments = attachmentsFor(o.shape, i);
    mail.attachments = attachments.map((a) => ({ filename: a.filename, sha256: sha256(a.bytes) }));
    const sender = Math.floor(rnd() * 250);
    const body = o.shape === "typical" ? prose(6_000, i) : prose(900 + (i % 7) * 150, i);
    const html = o.shape === "typical" ? `<html><body><p>${prose(12_000, i)}</p><img src="cid:shot-${i}@customer.example"></body></html>` : undefined;
    mail.raw = () =>
      buildMail({
        id: mail.messageId,
        from: `Customer ${sender} <customer${sender}@example.org>`,
        subject,
        ...(parent ? { inReplyTo: parent.messageId, references } : {}),
        body,
        ...(html ? { html } : {}),
        attachments,
        date: new Date(Date.UTC(2026, 2, 2, 9, 0, 0) + i * 1000),
      });
  }
  return plan;
}

function attachmentsFor(shape: PlanOptions["shape"], i: number): MailAttachment[] {
  if (shape === "typical") {
    return [
      { filename: "screenshot.png", contentType: "image/png", bytes: noise(24_000, i * 2 + 1), contentId: `shot-${i}@customer.example` },
      { filename: "vpn-log.txt", contentType: "text/plain", bytes: noise(18_000, i * 2 + 2) },
    ];
  }
  if (i % 8 !== 5) return [];
  const first: MailAttachment = { filename: `log-${i}.txt`, contentType: "application/octet-stream", bytes: noise(1_000 + (i % 5) * 500, i + 7) };
  if (i % 16 !== 13) return [first];
  return [first, { filename: `trace-${i}.bin`, contentType: "application/octet-stream", bytes: noise(3_000, i + 11) }];
}
