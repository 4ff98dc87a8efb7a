// A resolver turns one claimed message job into message bytes at consume time and hands each
// message to processing. One resolver per provider, typed by it: the job handler gives each
// resolver only its own provider's jobs and mailboxes, so none re-checks them at run time.
import type { Provider } from "../../src/queue/job.ts";
import type { JobOutcome, MessageJob } from "../domain/job.ts";
import type { MailboxDirectory, MailboxOf } from "../domain/mailbox.ts";
import type { MessageProcessor } from "../domain/message.ts";

export interface ResolveContext<P extends Provider> {
  job: MessageJob<P>;
  mailbox: MailboxOf<P>;
  directory: MailboxDirectory;
  processor: MessageProcessor;
  /** Aborted when the job's time is up or the consumer shuts down. */
  signal: AbortSignal;
}

export interface Resolver<P extends Provider> {
  readonly provider: P;
  /** Resolve and process. Throws InletError (consumer/domain/errors.ts) on failure. */
  handle(context: ResolveContext<P>): Promise<JobOutcome>;
  /** Release pooled connections and timers. */
  close(): Promise<void>;
}

export type Resolvers = { [P in Provider]: Resolver<P> };
