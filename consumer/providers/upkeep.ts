// Keeping provider subscriptions alive: `inlet providers renew` and the consumer's timer renew
// Graph subscriptions and Gmail watches well before they expire; lifecycle jobs from the edge
// renew (reauthorizationRequired), recreate and resync (subscriptionRemoved), or resync (missed).
import type { Job } from "../../src/queue/job.ts";
import { permanent } from "../runtime/errors.ts";
import type { LifecycleHandler } from "../runtime/job-handler.ts";
import type { JobOutcome } from "../runtime/resolver.ts";
import type { ProviderContext } from "./context.ts";
import { watchGmail } from "./google.ts";
import { recreateMicrosoft, renewMicrosoft, resyncMicrosoft } from "./microsoft.ts";

/** Renew what expires within this window (Graph mail subscriptions live ~3 days, Gmail watches 7). */
export const RENEW_WITHIN_MS = 36 * 3600_000;

export interface RenewReport {
  providerId: string;
  kind: string;
  action: "renewed" | "recreated" | "rewatched" | "current" | "failed";
  expiresAt?: string;
  error?: string;
}

export async function renewDue(ctx: ProviderContext, now = Date.now()): Promise<RenewReport[]> {
  const reports: RenewReport[] = [];
  for (const mailbox of await ctx.mailboxes.list()) {
    try {
      if (mailbox.kind === "microsoft") {
        const expires = Date.parse(mailbox.cursors.graphSubscriptionExpiresAt ?? "");
        if (Number.isFinite(expires) && expires - now > RENEW_WITHIN_MS) {
          reports.push({ providerId: mailbox.providerId, kind: "microsoft", action: "current", expiresAt: mailbox.cursors.graphSubscriptionExpiresAt! });
          continue;
        }
        const action = await renewMicrosoft(ctx, mailbox);
        reports.push({ providerId: mailbox.providerId, kind: "microsoft", action, expiresAt: (await ctx.mailboxes.get(mailbox.providerId))?.cursors.graphSubscriptionExpiresAt ?? "" });
      } else if (mailbox.kind === "google") {
        const expires = Date.parse(mailbox.cursors.gmailWatchExpiration ?? "");
        // Google recommends calling watch daily; its watches last 7 days.
        if (Number.isFinite(expires) && expires - now > 6 * 24 * 3600_000) {
          reports.push({ providerId: mailbox.providerId, kind: "google", action: "current", expiresAt: mailbox.cursors.gmailWatchExpiration! });
          continue;
        }
        const topic = mailbox.cursors.gmailTopic;
        if (!topic) throw new Error("no Pub/Sub topic recorded for this mailbox");
        const watch = await watchGmail(ctx, mailbox, topic, { setCursor: false });
        reports.push({ providerId: mailbox.providerId, kind: "google", action: "rewatched", expiresAt: watch.expiration });
      }
    } catch (error) {
      reports.push({ providerId: mailbox.providerId, kind: mailbox.kind, action: "failed", error: error instanceof Error ? error.message : String(error) });
    }
  }
  return reports;
}

export function createLifecycleHandler(ctx: ProviderContext): LifecycleHandler {
  return {
    async handle(job: Extract<Job, { kind: "lifecycle" }>): Promise<JobOutcome> {
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
