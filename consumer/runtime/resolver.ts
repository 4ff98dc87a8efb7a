// A resolver turns one claimed job into message bytes at consume time and hands each message
// to processing. One resolver per provider, each in consumer/resolvers/<provider>/.
import type { Job } from "../../src/queue/job.ts";
import type { MailboxDirectory, MailboxRecord, MessageProcessor, ProcessOutcome } from "./handler.ts";

export interface ResolveContext {
  job: Job;
  mailbox: MailboxRecord;
  directory: MailboxDirectory;
  processor: MessageProcessor;
  /** Aborted when the job's time is up or the consumer shuts down. */
  signal: AbortSignal;
}

export type JobOutcome =
  | { outcome: "processed"; messages: ProcessOutcome[] }
  | { outcome: "skipped"; reason: string };

export interface Resolver {
  readonly provider: Job["provider"];
  /** Resolve and process. Throws InletError (consumer/runtime/errors.ts) on failure. */
  handle(context: ResolveContext): Promise<JobOutcome>;
  /** Release pooled connections and timers. */
  close(): Promise<void>;
}
