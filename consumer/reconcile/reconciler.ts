// The reconciliation sweep's schedule: every mailbox is swept about every
// INLET_RECONCILE_INTERVAL_MS (jittered ±10% per mailbox and round, so sweeps spread out), by one
// replica: the live replicas divide the mailboxes by rendezvous hashing (`owns`, from the
// heartbeat), so each sweeps about its share, and the mailbox's sweep lease still keeps two from
// sweeping one mailbox while the set of replicas changes. After the lease, the replica
// reads the mailbox again, so one that another replica has just swept is left be. Microsoft and
// Gmail mailboxes are swept here; IMAP mailboxes by their watcher (consumer/imap-listener), which
// holds the same kind of lease for its mailbox anyway.
// Each sweep's result is stored on the mailbox (`lastSweep`) and logged; mail a sweep finds that a
// notification should have announced is logged as a warning: the main health signal.
import { createHash, randomUUID } from "node:crypto";
import type { ScriptClient } from "../../src/queue/script.ts";
import { InletError, isAuthorisationLost } from "../domain/errors.ts";
import type { MailboxRecord, SweepRecord } from "../domain/mailbox.ts";
import type { ProviderContext } from "../providers/context.ts";
import type { Logger } from "../runtime/log.ts";
import { MailboxLease } from "../runtime/mailbox-lease.ts";
import { periodic, type PeriodicTask } from "../runtime/periodic.ts";
import { sweepGmail } from "./google.ts";
import { sweepMicrosoft } from "./microsoft.ts";
import type { SweepReport } from "./sweep.ts";

export interface ReconcilerOptions {
  ctx: ProviderContext;
  scripts: ScriptClient;
  /** Prefix of the per-mailbox sweep lease keys. */
  leasePrefix: string;
  intervalMs: number;
  log: Logger;
  /** Sweeps run at once by this replica (default 4). */
  concurrency?: number;
  /** Told of every sweep's report (metrics). */
  onSweep?: (report: SweepReport) => void;
  /** Whether this replica sweeps the mailbox (its share); default: every mailbox. */
  owns?: (providerId: string) => boolean;
}

/** A number in [0, 1) that every replica computes alike for the same inputs. */
const spread = (...parts: string[]) => createHash("sha256").update(parts.join("\u0000")).digest().readUInt32BE(0) / 2 ** 32;

export class Reconciler {
  readonly owner = `reconciler-${randomUUID()}`;
  readonly #o: Required<Omit<ReconcilerOptions, "onSweep">> & Pick<ReconcilerOptions, "onSweep">;
  readonly #startedAt = Date.now();
  #task: PeriodicTask | undefined;

  constructor(options: ReconcilerOptions) {
    this.#o = { concurrency: 4, owns: () => true, ...options };
  }

  start(): void {
    const tickMs = Math.max(50, Math.min(30_000, Math.floor(this.#o.intervalMs / 5)));
    this.#task ??= periodic("reconcile", tickMs, this.#o.log, async () => void (await this.tick()), { jitter: 0.2 });
  }

  async stop(): Promise<void> {
    await this.#task?.stop();
  }

  /** When the mailbox's next sweep is due: a jittered interval after its last one; a mailbox
   * never swept is due at a spread point of the first interval after this replica started. */
  dueAt(mailbox: MailboxRecord): number {
    const { intervalMs } = this.#o;
    const last = Date.parse(mailbox.cursors.lastSweep?.at ?? "");
    if (!Number.isFinite(last)) return this.#startedAt + intervalMs * spread(mailbox.providerId) * 0.5;
    return last + intervalMs * (0.9 + 0.2 * spread(mailbox.providerId, mailbox.cursors.lastSweep!.at));
  }

  /** Sweep the mailboxes that are due, at most `concurrency` at once. */
  async tick(now = Date.now()): Promise<SweepReport[]> {
    const started = Date.now();
    // A mailbox waiting for re-authorisation is not swept; connected again, its next sweep picks
    // up from its stored cursor what arrived meanwhile.
    const due = (await this.#o.ctx.mailboxes.list()).filter((m) => m.kind !== "imap" && !m.authorisation && this.#o.owns(m.providerId) && this.dueAt(m) <= now);
    const reports: SweepReport[] = [];
    const next = () => due.shift();
    await Promise.all(
      Array.from({ length: this.#o.concurrency }, async () => {
        for (let mailbox = next(); mailbox; mailbox = next()) {
          const report = await this.#sweepUnderLease(mailbox, now, started);
          if (report) reports.push(report);
        }
      }),
    );
    return reports;
  }

  /** Sweep under the mailbox's lease, unless another replica has swept it since this tick began. */
  async #sweepUnderLease(candidate: MailboxRecord, now: number, tickStarted: number): Promise<SweepReport | undefined> {
    const { ctx, log } = this.#o;
    const lease = new MailboxLease(this.#o.scripts, `${this.#o.leasePrefix}${candidate.providerId}`, this.owner, Math.max(60_000, this.#o.intervalMs));
    if (!(await lease.acquire())) return undefined;
    try {
      const mailbox = await ctx.mailboxes.get(candidate.providerId);
      const sweptAt = Date.parse(mailbox?.cursors.lastSweep?.at ?? "");
      if (!mailbox || mailbox.authorisation || sweptAt >= tickStarted || this.dueAt(mailbox) > now) return undefined;
      const report = await sweepAndRecord(ctx, mailbox, log);
      this.#o.onSweep?.(report);
      return report;
    } finally {
      await lease.release().catch(() => undefined);
    }
  }
}

/** Sweep one mailbox now and store what it found; a failure is stored and logged, not thrown. */
export async function sweepAndRecord(ctx: ProviderContext, mailbox: MailboxRecord, log: Logger | undefined): Promise<SweepReport> {
  const at = new Date().toISOString();
  let report: SweepReport;
  try {
    report = mailbox.kind === "microsoft" ? await sweepMicrosoft(ctx, mailbox) : await sweepGmail(ctx, mailbox);
  } catch (error) {
    const code = error instanceof InletError ? error.code : "unexpected_error";
    if (isAuthorisationLost(error) && (await ctx.mailboxes.markNeedsReauthorisation(mailbox.providerId, code))) {
      log?.warn({ event: "inbound_email_mailbox_needs_reauthorisation", providerId: mailbox.providerId, kind: mailbox.kind, tenantId: mailbox.tenantId, reason: code }, "the provider refused the mailbox's grant: it needs re-authorisation (connect it again)");
    }
    await ctx.mailboxes.updateCursors(mailbox.providerId, { lastSweep: { at, listed: 0, enqueued: 0, found: 0, error: code } });
    log?.error({ event: "inbound_email_reconcile_failed", providerId: mailbox.providerId, kind: mailbox.kind, code, err: error }, "reconciliation sweep failed; it runs again next interval");
    return { providerId: mailbox.providerId, kind: mailbox.kind, listed: 0, enqueued: 0, found: 0, error: code };
  }
  const record: SweepRecord = { at, listed: report.listed, enqueued: report.enqueued, found: report.found };
  await ctx.mailboxes.updateCursors(mailbox.providerId, { lastSweep: record });
  logSweep(log, report);
  return report;
}

export function logSweep(log: Logger | undefined, report: SweepReport): void {
  if (!log) return;
  if (report.found > 0) log.warn({ event: "inbound_email_reconcile_found", ...report }, "the sweep found mail no notification announced");
  else log.info({ event: "inbound_email_reconcile_sweep", ...report }, "reconciliation sweep");
}
