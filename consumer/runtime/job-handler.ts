// From a claimed job to an outcome: find the connected mailbox, check it is the one the job
// names, and give the job to its provider's resolver. Lifecycle jobs (Graph subscription
// upkeep) go to the upkeep handler.
// A mailbox whose grant the provider withdrew (InletError.authorisationLost: a revoked refresh
// token, consent taken back, a refused login) is marked as needing re-authorisation by the first
// job that meets the refusal; that job and every later one of the mailbox end as the skip
// `source_unavailable:auth` (acked, never retried into the dead-letter list), and message jobs
// are parked on the mailbox, to be enqueued again when it is connected again.
import type { Claim } from "../../src/queue/queue.ts";
import type { Job, Provider } from "../../src/queue/job.ts";
import type { JobHandler } from "./consumer.ts";
import { isAuthorisationLost, permanent, sourceUnavailable } from "../domain/errors.ts";
import type { JobOutcome, LifecycleJob, MessageJob } from "../domain/job.ts";
import { mailboxOfKind, type MailboxDirectory, type MailboxRecord } from "../domain/mailbox.ts";
import type { MessageProcessor } from "../domain/message.ts";
import type { Resolver, Resolvers } from "../resolvers/resolver.ts";
import type { Logger } from "./log.ts";
import { timedProcessor, type StageTimer } from "./timed-processor.ts";

export interface LifecycleHandler {
  handle(job: LifecycleJob, signal: AbortSignal): Promise<JobOutcome>;
}

export interface JobHandlerDeps {
  directory: MailboxDirectory;
  resolvers: Partial<Resolvers>;
  processor: MessageProcessor;
  lifecycle?: LifecycleHandler;
  log?: Logger;
  /** Told how long each message's fetch and processing took (metrics). */
  timing?: StageTimer;
}

/** The skip reason of every job of a mailbox that needs re-authorisation. */
export const AUTH_SKIP_REASON = "source_unavailable:auth";

export function createJobHandler(deps: JobHandlerDeps): JobHandler {
  function resolve<P extends Provider>(job: MessageJob<P>, provider: P, mailbox: MailboxRecord, resolver: Resolver<P> | undefined, signal: AbortSignal): Promise<JobOutcome> {
    const own = mailboxOfKind(mailbox, provider);
    if (!own || mailbox.tenantId !== job.tenantId) {
      throw permanent("provider_mismatch", `job names tenant ${job.tenantId} / ${provider}, the provider row says ${mailbox.tenantId} / ${mailbox.kind}`);
    }
    if (!resolver) throw permanent("resolver_unavailable", `no resolver configured for ${provider}`);
    const processor = deps.timing ? timedProcessor(deps.processor, provider, deps.timing) : deps.processor;
    return resolver.handle({ job, mailbox: own, directory: deps.directory, processor, signal });
  }

  /** Runs `work` unless the mailbox already needs re-authorisation; a lost grant marks it. */
  async function authorised(job: Job, mailbox: MailboxRecord, work: () => Promise<JobOutcome>): Promise<JobOutcome> {
    const park = job.kind !== "lifecycle";
    if (mailbox.authorisation) {
      if (park) await deps.directory.parkJob(mailbox.providerId, job);
      return { outcome: "skipped", reason: AUTH_SKIP_REASON };
    }
    try {
      return await work();
    } catch (error) {
      if (!isAuthorisationLost(error)) throw error;
      if (await deps.directory.markNeedsReauthorisation(mailbox.providerId, error.code)) {
        deps.log?.warn({ event: "inbound_email_mailbox_needs_reauthorisation", providerId: mailbox.providerId, kind: mailbox.kind, tenantId: mailbox.tenantId, reason: error.code }, "the provider refused the mailbox's grant: it needs re-authorisation (connect it again)");
      }
      if (park) await deps.directory.parkJob(mailbox.providerId, job);
      throw sourceUnavailable("auth", error.message);
    }
  }

  return async (claim: Claim, signal: AbortSignal): Promise<JobOutcome> => {
    const { job } = claim;
    if (job.kind === "lifecycle") {
      const lifecycle = deps.lifecycle;
      if (!lifecycle) throw permanent("lifecycle_unsupported", "this consumer has no subscription upkeep configured");
      const mailbox = await deps.directory.get(job.providerId);
      return mailbox ? authorised(job, mailbox, () => lifecycle.handle(job, signal)) : lifecycle.handle(job, signal);
    }
    const mailbox = await deps.directory.get(job.providerId);
    // The mailbox was disconnected after the notification was accepted: nothing to do, by design.
    if (!mailbox) return { outcome: "skipped", reason: "provider_not_found" };
    switch (job.provider) {
      case "microsoft":
        return authorised(job, mailbox, () => resolve(job, "microsoft", mailbox, deps.resolvers.microsoft, signal));
      case "google":
        return authorised(job, mailbox, () => resolve(job, "google", mailbox, deps.resolvers.google, signal));
      case "imap":
        return authorised(job, mailbox, () => resolve(job, "imap", mailbox, deps.resolvers.imap, signal));
    }
  };
}
