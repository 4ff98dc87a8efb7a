// Dead letters as the operator handles them: the `inlet dlq` commands and the console's dead-letter
// pages call these, so a requeue from either is the same queue transition.
import type { DeadLetter, PointerQueue } from "../../src/queue/queue.ts";

/** How far `find` looks (the queue's own scan limit for requeue and purge). */
const SCAN_LIMIT = 100_000;

export interface DeadLetterSummary {
  id: string;
  provider: string;
  tenant: string;
  providerId: string;
  attempts: number;
  reason: string;
  deadAt: string;
}

/** The fields a list shows (a dead letter may hold a job that no longer fits the schema). */
export function summarise(record: DeadLetter): DeadLetterSummary {
  const field = (name: string) => (typeof record.job?.[name] === "string" ? (record.job[name] as string) : "-");
  return { id: record.id, provider: field("provider"), tenant: field("tenantId"), providerId: field("providerId"), attempts: record.attempts, reason: record.reason, deadAt: new Date(record.deadAt).toISOString() };
}

/** Newest first. */
export function listDeadLetters(queue: PointerQueue, limit: number, offset = 0): Promise<{ total: number; records: DeadLetter[] }> {
  return queue.deadLetters(offset, limit);
}

export async function findDeadLetter(queue: PointerQueue, id: string): Promise<DeadLetter | undefined> {
  const { records } = await queue.deadLetters(0, SCAN_LIMIT);
  return records.find((r) => r.id === id);
}

/** Back on the ready list with attempts reset: one (by id) or every one ("*"); how many. */
export function requeueDeadLetters(queue: PointerQueue, which: string | "*"): Promise<number> {
  return queue.requeueDeadLetters(which, SCAN_LIMIT);
}

/** Deleted for good: one (by id) or every one ("*"); how many. */
export function purgeDeadLetters(queue: PointerQueue, which: string | "*"): Promise<number> {
  return queue.purgeDeadLetters(which, SCAN_LIMIT);
}
