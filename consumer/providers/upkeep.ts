// Keeping provider subscriptions alive: `inlet providers renew` and the consumer's timer renew
// Graph subscriptions and Gmail watches well before they expire; lifecycle jobs from the edge
// renew (reauthorizationRequired), recreate and resync (subscriptionRemoved), or resync (missed).
import { InletError, isAuthorisationLost, permanent } from "../domain/errors.ts";
import type { LifecycleJob, JobOutcome } from "../domain/job.ts";
import type { MailboxRecord } from "../domain/mailbox.ts";
import type { LifecycleHandler } from "../runtime/job-handler.ts";
import type { ScriptClient } from "../../src/queue/script.ts";
import { MailboxLease } from "../runtime/mailbox-lease.ts";
import type { ProviderContext } from "./context.ts";
import { watchGmail } from "./google.ts";
import { recreateMicrosoft, renewMicrosoft, resyncMicrosoft } from "./microsoft.ts";

/** Renew what expires within this window (Graph mail subscriptions live ~3 days, Gmail watches 7). */
export const RENEW_WITHIN_MS = 36 * 3600_000;
/** Google recommends calling watch daily; its watches last 7 days. */
const GMAIL_REWATCH_AFTER_MS = 24 * 3600_000;
const GMAIL_WATCH_MS = 7 * 24 * 3600_000;

export interface RenewReport {
  providerId: string;
  kind: string;
  /** `waiting`: the mailbox needs re-authorisation, nothing was tried. */
  action: "renewed" | "recreated" | "rewatched" | "current" | "failed" | "waiting";
  expiresAt?: string;
  /** A stable code when the action failed (InletError codes; `unexpected_error` otherwise). */
  code?: string;
  error?: string;
}

/** Renew what expires soon, or (`force`) renew now whatever the expiry. */
async function renewOne(ctx: ProviderContext, mailbox: MailboxRecord, now: number, force: boolean): Promise<RenewReport> {
  const base = { providerId: mailbox.providerId, kind: mailbox.kind };
  if (mailbox.kind === "microsoft") {
    const current = mailbox.cursors.graphSubscriptionExpiresAt;
    const expires = Date.parse(current ?? "");
    if (!force && current && Number.isFinite(expires) && expires - now > RENEW_WITHIN_MS) return { ...base, action: "current", expiresAt: current };
    const action = await renewMicrosoft(ctx, mailbox);
    return { ...base, action, expiresAt: (await ctx.mailboxes.get(mailbox.providerId))?.cursors.graphSubscriptionExpiresAt ?? "" };
  }
  if (mailbox.kind === "google") {
    const current = mailbox.cursors.gmailWatchExpiration;
    const expires = Date.parse(current ?? "");
    if (!force && current && Number.isFinite(expires) && expires - now > GMAIL_WATCH_MS - GMAIL_REWATCH_AFTER_MS) return { ...base, action: "current", expiresAt: current };
    const topic = mailbox.cursors.gmailTopic;
    if (!topic) throw permanent("gmail_topic_missing", "no Pub/Sub topic recorded for this mailbox");
    const watch = await watchGmail(ctx, mailbox, topic, { setCursor: false });
    return { ...base, action: "rewatched", expiresAt: watch.expiration };
  }
  return { ...base, action: "current" };
}

const failed = (mailbox: Pick<MailboxRecord, "providerId" | "kind">, error: unknown): RenewReport => ({
  providerId: mailbox.providerId,
  kind: mailbox.kind,
  action: "failed",
  code: error instanceof InletError ? error.code : "unexpected_error",
  error: error instanceof Error ? error.message.slice(0, 300) : String(error),
});

/** Renew one mailbox's subscription or watch when it expires soon (`force`: now, whatever its
 * expiry). A failure is reported with its code, never thrown; a refused grant marks the mailbox
 * as needing re-authorisation, and such a mailbox is left alone until it is connected again. */
export async function renewMailbox(ctx: ProviderContext, mailbox: MailboxRecord, options: { now?: number; force?: boolean } = {}): Promise<RenewReport> {
  if (mailbox.authorisation) return { providerId: mailbox.providerId, kind: mailbox.kind, action: "waiting", code: mailbox.authorisation.reason, error: "needs re-authorisation" };
  return renewOne(ctx, mailbox, options.now ?? Date.now(), options.force ?? false).catch(async (error: unknown) => {
    if (isAuthorisationLost(error)) await ctx.mailboxes.markNeedsReauthorisation(mailbox.providerId, error.code);
    return failed(mailbox, error);
  });
}

/** How a consumer replica renews only its share (`inlet providers renew` renews every mailbox). */
export interface RenewShare {
  /** Whether this replica renews the mailbox (rendezvous over the live replicas). */
  owns(providerId: string): boolean;
  /** Runs `renew` under the mailbox's upkeep lease; undefined when another replica holds it. */
  underLease<T>(providerId: string, renew: () => Promise<T>): Promise<T | undefined>;
}

/** Upkeep leases outlast any renewal; a replica that dies mid-renewal frees its mailbox by then. */
const UPKEEP_LEASE_MS = 5 * 60_000;

/** The share a consumer replica renews: the mailboxes `owns` gives it, each under a lease
 * (`${leasePrefix}${providerId}`) so two replicas that briefly disagree on who is alive do not
 * renew one mailbox at once. */
export function leasedShare(scripts: ScriptClient, leasePrefix: string, owner: string, owns: (providerId: string) => boolean): RenewShare {
  return {
    owns,
    async underLease(providerId, renew) {
      const lease = new MailboxLease(scripts, `${leasePrefix}${providerId}`, owner, UPKEEP_LEASE_MS);
      if (!(await lease.acquire())) return undefined;
      try {
        return await renew();
      } finally {
        await lease.release().catch(() => undefined);
      }
    },
  };
}

/** One report per mailbox (see renewMailbox): one mailbox's trouble does not keep the others from
 * being renewed. Throws only
 * when the mailbox list itself cannot be read. With `share`, only this replica's mailboxes, each
 * under its lease (a mailbox left to another replica gets no report). */
export async function renewDue(ctx: ProviderContext, now = Date.now(), share?: RenewShare): Promise<RenewReport[]> {
  const reports: RenewReport[] = [];
  for (const mailbox of await ctx.mailboxes.list()) {
    if (share && !share.owns(mailbox.providerId)) continue;
    const renew = () => renewMailbox(ctx, mailbox, { now });
    const report = share && !mailbox.authorisation ? await share.underLease(mailbox.providerId, renew) : await renew();
    if (report) reports.push(report);
  }
  return reports;
}

export function createLifecycleHandler(ctx: ProviderContext): LifecycleHandler {
  return {
    async handle(job: LifecycleJob): Promise<JobOutcome> {
      const mailbox = await ctx.mailboxes.get(job.providerId);
      if (!mailbox) return { outcome: "skipped", reason: "provider_not_found" };
      if (mailbox.kind !== "microsoft") throw permanent("provider_mismatch", "lifecycle events are for Microsoft mailboxes");
      if (mailbox.cursors.graphSubscriptionId && mailbox.cursors.graphSubscriptionId !== job.pointer.subscriptionId) {
        return { outcome: "skipped", reason: "lifecycle_for_replaced_subscription" };
      }
      switch (job.pointer.lifecycleEvent) {
        case "reauthorizationRequired":
          await renewMicrosoft(ctx, mailbox);
          break;
        case "subscriptionRemoved":
          await recreateMicrosoft(ctx, mailbox);
          break;
        case "missed":
          await resyncMicrosoft(ctx, mailbox);
          break;
      }
      ctx.log?.info({ event: "inbound_email_provider_lifecycle", providerId: mailbox.providerId, lifecycleEvent: job.pointer.lifecycleEvent }, "lifecycle event handled");
      return { outcome: "processed", messages: [] };
    },
  };
}
