// Runs the ingest script for a route and logs one `inbound_email_queue_enqueue` line per pointer.
// A store failure is reported to the caller, which answers 503 so the provider retries.
import type { IngestItem, IngestOutcome } from "../queue/queue.ts";
import type { Env } from "../env.ts";
import { queueFor } from "../queue-for-env.ts";
import { logLine } from "../http-error.ts";

export type IngestResult = { ok: true; replay: boolean; outcomes: IngestOutcome[]; counts: Partial<Record<IngestOutcome, number>> } | { ok: false };

export async function ingest(env: Env, provider: string, items: IngestItem[], options: { requestGuard?: string; invalid?: number } = {}): Promise<IngestResult> {
  let result;
  try {
    result = await queueFor(env).ingest(provider, items, options);
  } catch (error) {
    logLine({ event: "inbound_email_ingress_store_failed", provider, items: items.length, error: error instanceof Error ? error.message.slice(0, 200) : "unknown" });
    return { ok: false };
  }
  if (result.replay) return { ok: true, replay: true, outcomes: [], counts: {} };
  const counts: Partial<Record<IngestOutcome, number>> = {};
  result.outcomes.forEach((outcome, i) => {
    counts[outcome] = (counts[outcome] ?? 0) + 1;
    if (outcome === "enqueued") logLine({ event: "inbound_email_queue_enqueue", provider, jobId: result.jobIds[i], registry: items[i]?.registryField.split(":").slice(0, 2).join(":") });
  });
  logLine({ event: "inbound_email_ingress_request", provider, items: items.length, invalid: options.invalid ?? 0, ...counts });
  return { ok: true, replay: false, outcomes: result.outcomes, counts };
}
