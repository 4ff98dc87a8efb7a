// What a reconciliation sweep of one mailbox reports, and how its pointers are enqueued: the same
// job as a notification's (marked `origin: "sweep"`) under the same dedupe key, so a pointer a
// notification already put in the queue within the dedupe window is dropped as a repeat, and
// processing's idempotency makes any other overlap harmless.
import type { EnqueueItem } from "../../src/queue/queue.ts";
import type { SweepRecord } from "../domain/mailbox.ts";
import type { ProviderContext } from "../providers/context.ts";

export type SweepReport = Omit<SweepRecord, "at"> & { providerId: string; kind: string; restarted?: boolean };

/** Mail younger than this may still have its notification on the way: enqueued, not counted. */
export const NOTIFICATION_GRACE_MS = 60_000;

/** Enqueue pointers for messages not processed yet; count those old enough to have been notified. */
export async function enqueueUnseen(
  ctx: ProviderContext,
  providerId: string,
  messages: readonly { id: string; receivedAt: number | undefined }[],
  item: (id: string) => EnqueueItem,
  now: number,
): Promise<{ enqueued: number; found: number }> {
  const processed = await ctx.mailboxes.processedMessageIds(providerId, messages.map((m) => m.id));
  const unseen = messages.filter((m) => !processed.has(m.id));
  const overdue = unseen.filter((m) => m.receivedAt === undefined || now - m.receivedAt >= NOTIFICATION_GRACE_MS);
  const recent = unseen.filter((m) => !overdue.includes(m));
  const [late, fresh] = await Promise.all([overdue, recent].map((batch) => (batch.length ? ctx.queue.enqueue(batch.map((m) => item(m.id))) : { enqueued: 0 })));
  return { enqueued: late!.enqueued + fresh!.enqueued, found: late!.enqueued };
}
