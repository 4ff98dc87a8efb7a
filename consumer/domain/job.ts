// Jobs as the consumer sees them: a message job of one provider, a Graph lifecycle job, and what
// handling a job came to.
import type { Job, Provider } from "../../src/queue/job.ts";
import type { ProcessOutcome } from "./message.ts";

/** A job that points at mail in a mailbox of provider `P`. */
export type MessageJob<P extends Provider = Provider> = Extract<Job, { provider: P; kind?: "message" }>;

/** A Graph subscription lifecycle notification (renew, recreate, resync). */
export type LifecycleJob = Extract<Job, { kind: "lifecycle" }>;

export type JobOutcome =
  | { outcome: "processed"; messages: ProcessOutcome[] }
  | { outcome: "skipped"; reason: string };

/** A job that resolved to one message takes that message's outcome (a skip stays a skip). */
export function singleMessage(outcome: ProcessOutcome): JobOutcome {
  return outcome.outcome === "skipped" ? { outcome: "skipped", reason: outcome.reason } : { outcome: "processed", messages: [outcome] };
}
