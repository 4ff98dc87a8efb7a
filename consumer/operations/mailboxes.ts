// Mailboxes as the operator handles them: health, renew now, resync now. `inlet providers list |
// renew | resync` and the console's mailbox pages call these, so an action from either is the
// same code path.
import { EMPTY_HEALTH, mailboxHealth, type MailboxHealth } from "../domain/health.ts";
import type { MailboxRecord } from "../domain/mailbox.ts";
import type { ProviderContext } from "../providers/context.ts";
import { renewMailbox, type RenewReport } from "../providers/upkeep.ts";
import { sweepAndRecord } from "../reconcile/reconciler.ts";
import type { SweepReport } from "../reconcile/sweep.ts";
import type { HealthStore } from "../store/health.ts";
import type { Mailboxes } from "../store/mailboxes.ts";

export interface MailboxWithHealth {
  mailbox: MailboxRecord;
  health: MailboxHealth;
}

/** Every connected mailbox with its health and its status now. */
export async function listMailboxHealth(mailboxes: Mailboxes, store: HealthStore, now = Date.now()): Promise<MailboxWithHealth[]> {
  const [list, records] = await Promise.all([mailboxes.list(), store.all()]);
  return list.map((mailbox) => ({ mailbox, health: mailboxHealth(mailbox, records.get(mailbox.providerId) ?? EMPTY_HEALTH, now) }));
}

export async function mailboxWithHealth(mailboxes: Mailboxes, store: HealthStore, providerId: string, now = Date.now()): Promise<MailboxWithHealth | undefined> {
  const mailbox = await mailboxes.get(providerId);
  if (!mailbox) return undefined;
  return { mailbox, health: mailboxHealth(mailbox, (await store.get(providerId)) ?? EMPTY_HEALTH, now) };
}

/** Renew the mailbox's Graph subscription or Gmail watch now, whatever its expiry (IMAP: nothing
 * to renew). Undefined when no mailbox has this id. */
export async function renewMailboxNow(ctx: ProviderContext, providerId: string): Promise<RenewReport | undefined> {
  const mailbox = await ctx.mailboxes.get(providerId);
  return mailbox ? renewMailbox(ctx, mailbox, { force: true }) : undefined;
}

export type ResyncReport =
  | { action: "swept"; report: SweepReport }
  | { action: "waiting"; reason: string }
  | { action: "not_applicable"; reason: string };

/** Sweep the mailbox now (Graph delta, Gmail history from its cursor): what no notification
 * announced is enqueued and the sweep stored as its last. Undefined when no mailbox has this id. */
export async function resyncMailboxNow(ctx: ProviderContext, providerId: string): Promise<ResyncReport | undefined> {
  const mailbox = await ctx.mailboxes.get(providerId);
  if (!mailbox) return undefined;
  if (mailbox.authorisation) return { action: "waiting", reason: `needs re-authorisation (${mailbox.authorisation.reason}): connect it again first` };
  if (mailbox.kind === "imap") return { action: "not_applicable", reason: "an IMAP mailbox's watcher catches up by UID on every new-mail event, every reconnect and every sweep interval" };
  return { action: "swept", report: await sweepAndRecord(ctx, mailbox, ctx.log) };
}
