// The end-to-end benchmark's measurements on a running chain (stack.ts), without faults:
//   steady(): mail offered at a fixed rate for a while; latency of each from its announcement
//     (Graph and Gmail: the notification about to be sent; IMAP: the consumer's listener post
//     reaching the edge) to its processing transaction's commit (commit-watch.ts); whether the
//     rate was sustained; Redis commands per mail (INFO commandstats); consumer RSS;
//   burst(): the chain's drain rate: mail announced while the consumer is held still
//     (SIGSTOP), then released; mails per second until the last commit;
//   baseline(): the same number of the same kind of mail from the same fakes and Dovecot
//     (mailboxes nothing watches) through baseline.ts, a process of its own.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ImapFlow } from "imapflow";
import { Redis } from "ioredis";
import type { BaselineSpec } from "./baseline.ts";
import { childEnv } from "./services.ts";
import { cpuSince, cpuSnapshot } from "./cpu.ts";
import type { CommitWatch } from "./commit-watch.ts";
import { Deliverer, offer } from "./deliver.ts";
import { planMail, PROVIDERS, type PlannedMail, type ProviderKind } from "./mail-plan.ts";
import { MAILBOXES, type ChainStack } from "./stack.ts";

const run = promisify(execFile);

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface SteadyResult {
  rate: number;
  /** What the harness managed to offer (it shares the machine). */
  offeredRate: number;
  mails: number;
  committed: number;
  latencyMs: Percentiles;
  byProvider: Record<ProviderKind, Percentiles>;
  /** Median latency of the first and the last fifth of the mail, by announcement. */
  firstFifthP50Ms: number;
  lastFifthP50Ms: number;
  /** Mails not yet committed when the offer ended. */
  backlogAtEnd: number;
  sustained: boolean;
  redis: { commands: number; scriptCalls: number; commandsPerMail: number; scriptCallsPerMail: number; byCommand: Record<string, number> };
  consumerPeakRssMb: number;
  /** CPU milliseconds per mail of each piece of the chain during the step (the harness: load generator and provider fakes). */
  cpuMsPerMail: Record<string, number>;
}

/** The pieces of the chain whose CPU time is counted, by their root process. */
export function chainProcesses(stack: ChainStack): Record<string, number | undefined> {
  let dovecot: number | undefined;
  try {
    dovecot = Number(readFileSync(join(stack.dovecot.dir, "run", "master.pid"), "utf8").trim());
  } catch {
    dovecot = undefined;
  }
  return {
    "harness (load, fakes)": process.pid,
    "Worker (wrangler dev, workerd)": stack.worker.child.process.pid,
    "REST endpoint": stack.rest.pid(),
    Redis: stack.redis.pid(),
    consumer: stack.consumer.pid(),
    PostgreSQL: stack.postgres.pid(),
    Dovecot: dovecot,
  };
}

/** Holds when each IMAP UID's listener post reached the edge (fed by the stack's recording hop). */
export const imapPosts = new Map<number, number>();
export function recordImapPost(uids: number[], at: number): void {
  for (const uid of uids) if (!imapPosts.has(uid)) imapPosts.set(uid, at);
}

export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : NaN);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.at(-1) ?? NaN };
}

async function commandStats(redisUrl: string): Promise<Record<string, number>> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info("commandstats");
    const out: Record<string, number> = {};
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]!] = Number(m[2]);
    return out;
  } finally {
    redis.disconnect();
  }
}

async function resetStats(redisUrl: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  await redis.config("RESETSTAT").finally(() => redis.disconnect());
}

function rssSampler(stack: ChainStack): { stop(): number } {
  let peak = 0;
  const sample = () => {
    const pid = stack.consumer.pid();
    if (!pid) return;
    try {
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      if (kb) peak = Math.max(peak, Number(kb) / 1024);
    } catch {
      // between processes
    }
  };
  const timer = setInterval(sample, 250);
  sample();
  return { stop: () => (clearInterval(timer), sample(), Math.round(peak)) };
}

interface Sent {
  mail: PlannedMail;
  providerMessageId: string;
  announcedAt: number | undefined;
}

/** Remove a step's mail from the fakes and Dovecot once it is processed (the run stays within memory). */
async function forget(stack: ChainStack, sent: readonly Sent[]): Promise<void> {
  const uids: string[] = [];
  for (const s of sent) {
    if (s.mail.provider === "microsoft") stack.graph.removeMessage(MAILBOXES.microsoft.mailbox, s.providerMessageId);
    else if (s.mail.provider === "google") stack.gmail.deleteMessage(MAILBOXES.google.address, s.providerMessageId);
    else uids.push(s.providerMessageId);
  }
  if (uids.length === 0) return;
  const lock = await stack.imapClient.getMailboxLock("INBOX");
  try {
    await stack.imapClient.messageDelete(uids.join(","), { uid: true });
  } finally {
    lock.release();
  }
}

export async function steady(stack: ChainStack, watch: CommitWatch, o: { rate: number; seconds: number; seed: number; runId: string; drainMs: number }): Promise<SteadyResult> {
  const plan = planMail({ count: Math.max(10, Math.round(o.rate * o.seconds)), seed: o.seed, runId: o.runId, shape: "typical" });
  const deliverer = new Deliverer(stack, { dropShare: 0, seed: o.seed });
  const sent: Sent[] = [];
  const raws = new Map(plan.map((m) => [m.index, m.raw()])); // built ahead: the offer only delivers
  await resetStats(stack.redis.url);
  const rss = rssSampler(stack);
  const cpuBefore = cpuSnapshot(chainProcesses(stack));
  const t0 = Date.now();
  await offer(plan, o.rate, t0, async (mail) => {
    const d = await deliverer.deliver(mail, raws.get(mail.index));
    sent.push({ mail, ...d });
  });
  const offeredEnd = Date.now();
  raws.clear();
  const offeredRate = plan.length / ((offeredEnd - t0) / 1000);
  await watch.waitFor(plan.map((m) => m.messageId), o.drainMs);
  const cpu = cpuSince(cpuBefore, cpuSnapshot(chainProcesses(stack)));
  const consumerPeakRssMb = rss.stop();
  const stats = await commandStats(stack.redis.url);
  delete stats.info;
  delete stats.config;
  const commands = Object.values(stats).reduce((a, b) => a + b, 0);
  const scriptCalls = (stats.evalsha ?? 0) + (stats.eval ?? 0) + (stats.evalsha_ro ?? 0) + (stats.eval_ro ?? 0);

  const timed = sent
    .map((s) => ({ s, start: s.mail.provider === "imap" ? imapPosts.get(Number(s.providerMessageId)) : s.announcedAt, end: watch.committed.get(s.mail.messageId) }))
    .sort((a, b) => (a.start ?? Infinity) - (b.start ?? Infinity));
  // A mail not committed within the drain time counts with the whole drain time: it did not make it.
  const latency = (t: (typeof timed)[number]) => (t.start !== undefined && t.end !== undefined ? Math.max(0, t.end - t.start) : o.drainMs);
  const all = timed.map(latency);
  const fifth = Math.max(1, Math.floor(timed.length / 5));
  const firstFifthP50Ms = percentiles(all.slice(0, fifth)).p50;
  const lastFifthP50Ms = percentiles(all.slice(-fifth)).p50;
  const committed = timed.filter((t) => t.end !== undefined).length;
  // What was still waiting when the offer ended: more than a second's worth means the chain fell behind.
  const backlogAtEnd = plan.length - timed.filter((t) => t.end !== undefined && t.end <= offeredEnd).length;
  const byProvider = Object.fromEntries(PROVIDERS.map((p) => [p, percentiles(timed.filter((t) => t.s.mail.provider === p).map(latency))])) as Record<ProviderKind, Percentiles>;
  await forget(stack, sent);
  return {
    rate: o.rate,
    offeredRate: Math.round(offeredRate * 10) / 10,
    mails: plan.length,
    committed,
    latencyMs: percentiles(all),
    byProvider,
    firstFifthP50Ms,
    lastFifthP50Ms,
    backlogAtEnd,
    // Sustained: all of it processed, the harness kept the rate, no more than a second of mail
    // waiting when the offer ended, and latency not climbing through the step.
    sustained: committed === plan.length && offeredRate >= 0.95 * o.rate && backlogAtEnd <= Math.max(10, o.rate) && lastFifthP50Ms <= 2 * firstFifthP50Ms + 500,
    redis: { commands, scriptCalls, commandsPerMail: round2(commands / plan.length), scriptCallsPerMail: round2(scriptCalls / plan.length), byCommand: stats },
    consumerPeakRssMb,
    cpuMsPerMail: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round2(v / plan.length)])),
  };
}

/** The chain's drain rate: `count` mails announced while the consumer is stopped, then let go. */
export interface BurstResult {
  mails: number;
  seconds: number;
  mailsPerSecond: number;
  consumerPeakRssMb: number;
  /** Per provider: mails sent, jobs the consumer acknowledged, and messages those jobs applied. */
  work: Record<string, { mails: number; jobs: number; messages: number }>;
}

export async function burst(stack: ChainStack, watch: CommitWatch, o: { count: number; seed: number; runId: string; drainMs: number }): Promise<BurstResult> {
  const plan = planMail({ count: o.count, seed: o.seed, runId: o.runId, shape: "typical" });
  const deliverer = new Deliverer(stack, { dropShare: 0, seed: o.seed });
  const sent: Sent[] = [];
  stack.consumer.pause();
  try {
    await offer(plan, Infinity, Date.now(), async (mail) => sent.push({ mail, ...(await deliverer.deliver(mail)) }));
    await deliverer.settled();
  } finally {
    stack.consumer.resume();
  }
  const before = structuredClone(stack.consumer.stats.acks);
  const rss = rssSampler(stack);
  const started = Date.now();
  const done = await watch.waitFor(plan.map((m) => m.messageId), o.drainMs);
  const last = Math.max(...plan.map((m) => watch.committed.get(m.messageId) ?? Date.now()));
  const consumerPeakRssMb = rss.stop();
  await forget(stack, sent);
  if (!done) throw new Error(`burst: not every mail committed within ${o.drainMs / 1000} s`);
  const seconds = (last - started) / 1000;
  await new Promise((r) => setTimeout(r, 500)); // the last acks reach the log
  const after = stack.consumer.stats.acks;
  const work = Object.fromEntries(
    PROVIDERS.map((p) => [p, { mails: plan.filter((m) => m.provider === p).length, jobs: (after[p]?.jobs ?? 0) - (before[p]?.jobs ?? 0), messages: (after[p]?.messages ?? 0) - (before[p]?.messages ?? 0) }]),
  );
  return { mails: plan.length, seconds: round2(seconds), mailsPerSecond: Math.round((plan.length / seconds) * 10) / 10, consumerPeakRssMb, work };
}

/** The baseline loop over `count` mails of the same kind, from mailboxes nothing else reads. */
export async function baseline(stack: ChainStack, o: { root: string; count: number; seed: number; runId: string; concurrency: number }): Promise<{ mails: number; seconds: number; mailsPerSecond: number }> {
  const plan = planMail({ count: o.count, seed: o.seed, runId: o.runId, shape: "typical" });
  const bare = MAILBOXES.bare;
  const imap = new ImapFlow({ host: stack.dovecot.host, port: stack.dovecot.port, secure: false, auth: { user: bare.imapUser, pass: bare.imapPassword }, logger: false });
  imap.on("error", () => undefined);
  await imap.connect();
  const messages: BaselineSpec["messages"] = [];
  const graphIds: string[] = [];
  const gmailIds: string[] = [];
  try {
    for (const mail of plan) {
      const raw = mail.raw();
      if (mail.provider === "microsoft") {
        const id = stack.graph.addMessage(bare.graphMailbox, raw);
        graphIds.push(id);
        messages.push({ provider: "microsoft", id });
      } else if (mail.provider === "google") {
        const { id } = stack.gmail.addMessage(bare.gmailUser, raw);
        gmailIds.push(id);
        messages.push({ provider: "google", id });
      } else {
        const appended = await imap.append("INBOX", Buffer.from(raw));
        if (!appended || appended.uid === undefined) throw new Error("Dovecot did not report the appended UID");
        messages.push({ provider: "imap", id: String(appended.uid) });
      }
    }
    const env = stack.consumerEnv;
    const spec: BaselineSpec = {
      databaseUrl: stack.postgres.url,
      tenant: BARE_TENANT,
      concurrency: o.concurrency,
      graph: { baseUrl: env.MICROSOFT_GRAPH_BASE_URL!, loginUrl: env.MICROSOFT_LOGIN_BASE_URL!, azureTenantId: MAILBOXES.microsoft.azureTenantId, clientId: MAILBOXES.microsoft.clientId, clientSecret: MAILBOXES.microsoft.clientSecret, mailbox: bare.graphMailbox },
      gmail: { baseUrl: env.GMAIL_API_BASE_URL!, tokenUrl: env.GOOGLE_OAUTH_TOKEN_URL!, clientId: MAILBOXES.google.clientId, clientSecret: MAILBOXES.google.clientSecret, refreshToken: MAILBOXES.google.refreshToken, user: bare.gmailUser },
      imap: { host: stack.dovecot.host, port: stack.dovecot.port, user: bare.imapUser, password: bare.imapPassword },
      messages,
    };
    const dir = mkdtempSync(join(tmpdir(), "inlet-e2e-baseline-"));
    try {
      writeFileSync(join(dir, "spec.json"), JSON.stringify(spec));
      const { stdout } = await run(process.execPath, [join(o.root, "bench", "chain", "baseline.ts"), join(dir, "spec.json")], { cwd: o.root, env: childEnv(), maxBuffer: 1 << 20 });
      const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as { messages: number; seconds: number };
      return { mails: result.messages, seconds: round2(result.seconds), mailsPerSecond: Math.round((result.messages / result.seconds) * 10) / 10 };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    for (const id of graphIds) stack.graph.removeMessage(bare.graphMailbox, id);
    for (const id of gmailIds) stack.gmail.deleteMessage(bare.gmailUser, id);
    const lock = await imap.getMailboxLock("INBOX");
    await imap.messageDelete("1:*").finally(() => lock.release());
    await imap.logout().catch(() => imap.close());
  }
}

export const BARE_TENANT = "bare";
const round2 = (n: number) => Math.round(n * 100) / 100;
