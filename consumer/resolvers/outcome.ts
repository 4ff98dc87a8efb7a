import type { ProcessOutcome } from "../runtime/handler.ts";
import type { JobOutcome } from "../runtime/resolver.ts";

/** A job that resolved to one message takes that message's outcome (a skip stays a skip). */
export function singleMessage(outcome: ProcessOutcome): JobOutcome {
  return outcome.outcome === "skipped" ? { outcome: "skipped", reason: outcome.reason } : { outcome: "processed", messages: [outcome] };
}
