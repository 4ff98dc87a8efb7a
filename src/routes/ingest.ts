// Runs the ingest script for a route and writes ONE log line per request (Workers bill and spend
// CPU on every line): `inbound_email_queue_enqueue` with the job ids when something was
// enqueued, else `inbound_email_ingress_request`, both with the outcome counts.
// A store failure answers 503 store_unavailable, so the provider retries.
import type { EdgeConfig } from "../env.ts";
import { logLine, refuse } from "../http-error.ts";
import type { IngestItem, IngestOutcome } from "../queue/queue.ts";
import { queueFor } from "../queue-for-env.ts";

export type IngestResult = { replay: boolean; outcomes: IngestOutcome[]; counts: Partial<Record<IngestOutcome, number>> };

export async function ingest(config: EdgeConfig, provider: string, items: readonly IngestItem[], options: { requestGuard?: string; invalid?: number } = {}): Promise<IngestResult> {
  const queue = queueFor(config);
  let result;
  try {
    result = await queue.ingest(provider, items, options);
  } catch (error) {
    logLine({ event: "inbound_email_ingress_store_failed", provider, items: items.length, error: error instanceof Error ? error.message.slice(0, 200) : "unknown" });
    refuse(503, "store_unavailable", "the notification could not be stored; retry later");
  }
  if (result.replay) {
    logLine({ event: "inbound_email_ingress_request", provider, items: items.length, replay: true });
    return { replay: true, outcomes: [], counts: {} };
  }
  const counts: Partial<Record<IngestOutcome, number>> = {};
  if (options.invalid) counts.invalid = options.invalid;
  for (const outcome of result.outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  const jobIds = result.jobIds.filter((id): id is string => id !== undefined);
  logLine(jobIds.length > 0 ? { event: "inbound_email_queue_enqueue", provider, items: items.length, ...counts, jobIds } : { event: "inbound_email_ingress_request", provider, items: items.length, ...counts });
  return { replay: false, outcomes: result.outcomes, counts };
}
