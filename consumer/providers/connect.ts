// Connecting a mailbox, the first time or again: the candidate credentials are checked against
// the provider before anything is stored (a failed reconnection leaves the working credentials
// in place), then the mailbox is stored (sealed), onboarded (Graph subscription, Gmail watch,
// IMAP cursor), and, when it was waiting for re-authorisation, the jobs parked meanwhile are
// enqueued again. Mail that arrived with no job at all is found by the next reconciliation sweep,
// which starts from the cursors the mailbox kept.
import type { Job, NewJob } from "../../src/queue/job.ts";
import { InletError } from "../domain/errors.ts";
import type { MailboxRecord } from "../domain/mailbox.ts";
import type { ConnectedAs, NewMailbox } from "../store/mailboxes.ts";
import { checkMailbox, type CheckReport } from "./check.ts";
import type { ProviderContext } from "./context.ts";

export interface ConnectResult {
  providerId: string;
  connectedAs: ConnectedAs;
  /** Jobs parked while the mailbox needed re-authorisation, enqueued again. */
  requeued: number;
  details: Record<string, string>;
}

/** How a provider's mailbox is brought into service once stored (`reconnected`: it keeps its cursors). */
export type Onboard = (record: MailboxRecord, connectedAs: ConnectedAs) => Promise<Record<string, string>>;

export class CheckFailed extends InletError {
  readonly report: CheckReport;
  constructor(report: CheckReport) {
    const failed = report.steps.find((s) => !s.ok);
    super(failed?.code ?? "check_failed", failed?.detail ?? "the check failed", { disposition: "dead_letter" });
    this.report = report;
  }
}

export interface ConnectOptions {
  /** Keep checking this long while the provider still refuses the grant: a permission an admin
   * has just consented to takes a while to reach Microsoft's token service (default 0). */
  waitForGrantMs?: number;
  /** Between those checks (default 5 s). */
  recheckMs?: number;
}

async function checkUntilGranted(ctx: ProviderContext, candidate: MailboxRecord, options: ConnectOptions): Promise<CheckReport> {
  const deadline = Date.now() + (options.waitForGrantMs ?? 0);
  for (;;) {
    const report = await checkMailbox(ctx.apis, candidate);
    const failed = report.steps.find((s) => !s.ok);
    const refused = failed?.code && /_(consent_revoked|access_denied|auth_revoked)$/.test(failed.code);
    if (report.ok || !refused || Date.now() >= deadline) return report;
    await new Promise((r) => setTimeout(r, options.recheckMs ?? 5000));
  }
}

export async function connectMailbox(ctx: ProviderContext, input: NewMailbox, onboard: Onboard, options: ConnectOptions = {}): Promise<ConnectResult> {
  const candidate = { providerId: input.id ?? "candidate", tenantId: input.tenantId, kind: input.kind, address: input.address.toLowerCase(), credentials: ctx.mailboxes.resolve(input.credentials), cursors: {}, bulkMailOpensTickets: false } as MailboxRecord;
  const report = await checkUntilGranted(ctx, candidate, options);
  if (!report.ok) throw new CheckFailed(report);
  const { providerId, connectedAs } = await ctx.mailboxes.connect(input);
  try {
    const record = await ctx.mailboxes.get(providerId);
    if (!record) throw new Error(`mailbox ${providerId} vanished while it was being connected`);
    const details = await onboard(record, connectedAs);
    const requeued = await requeueParked(ctx, providerId);
    ctx.log?.info({ event: "inbound_email_mailbox_connected", providerId, kind: input.kind, connectedAs, requeued }, "mailbox connected");
    return { providerId, connectedAs, requeued, details };
  } catch (error) {
    if (connectedAs === "new") await ctx.mailboxes.remove(providerId); // do not leave a half-connected mailbox behind
    throw error;
  }
}

/** The job as a producer describes it: the queue gives it a new id, time and attempt count. */
function asNewJob(job: Job): NewJob {
  const { jobId: _id, schemaVersion: _version, enqueuedAt: _at, attempt: _attempt, lastError: _error, ...fresh } = job;
  return fresh;
}

/** Enqueue again every job parked for the mailbox, oldest first, under a dedupe key of its own
 * (the original's dedupe entry would drop it as a repeat), then forget them. */
export async function requeueParked(ctx: ProviderContext, providerId: string): Promise<number> {
  let total = 0;
  for (;;) {
    const parked = await ctx.mailboxes.parkedJobs(providerId);
    if (parked.length === 0) return total;
    const items = parked.map(({ job }) => ({ job: asNewJob(job), dedupeKey: `reauthorised:${providerId}:${job.jobId}` }));
    await ctx.queue.enqueue(items);
    await ctx.mailboxes.unpark(parked.map((p) => p.id));
    total += parked.length;
  }
}
