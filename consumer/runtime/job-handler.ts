// From a claimed job to an outcome: find the connected mailbox, check it is the one the job
// names, and give the job to its provider's resolver. Lifecycle jobs (Graph subscription
// upkeep) go to the upkeep handler.
import type { Claim } from "../../src/queue/queue.ts";
import type { Provider } from "../../src/queue/job.ts";
import type { JobHandler } from "./consumer.ts";
import { permanent } from "../domain/errors.ts";
import type { JobOutcome, LifecycleJob, MessageJob } from "../domain/job.ts";
import { mailboxOfKind, type MailboxDirectory, type MailboxRecord } from "../domain/mailbox.ts";
import type { MessageProcessor } from "../domain/message.ts";
import type { Resolver, Resolvers } from "../resolvers/resolver.ts";

export interface LifecycleHandler {
  handle(job: LifecycleJob, signal: AbortSignal): Promise<JobOutcome>;
}

export interface JobHandlerDeps {
  directory: MailboxDirectory;
  resolvers: Partial<Resolvers>;
  processor: MessageProcessor;
  lifecycle?: LifecycleHandler;
}

export function createJobHandler(deps: JobHandlerDeps): JobHandler {
  function resolve<P extends Provider>(job: MessageJob<P>, provider: P, mailbox: MailboxRecord, resolver: Resolver<P> | undefined, signal: AbortSignal): Promise<JobOutcome> {
    const own = mailboxOfKind(mailbox, provider);
    if (!own || mailbox.tenantId !== job.tenantId) {
      throw permanent("provider_mismatch", `job names tenant ${job.tenantId} / ${provider}, the provider row says ${mailbox.tenantId} / ${mailbox.kind}`);
    }
    if (!resolver) throw permanent("resolver_unavailable", `no resolver configured for ${provider}`);
    return resolver.handle({ job, mailbox: own, directory: deps.directory, processor: deps.processor, signal });
  }

  return async (claim: Claim, signal: AbortSignal): Promise<JobOutcome> => {
    const { job } = claim;
    if (job.kind === "lifecycle") {
      if (!deps.lifecycle) throw permanent("lifecycle_unsupported", "this consumer has no subscription upkeep configured");
      return deps.lifecycle.handle(job, signal);
    }
    const mailbox = await deps.directory.get(job.providerId);
    // The mailbox was disconnected after the notification was accepted: nothing to do, by design.
    if (!mailbox) return { outcome: "skipped", reason: "provider_not_found" };
    switch (job.provider) {
      case "microsoft":
        return resolve(job, "microsoft", mailbox, deps.resolvers.microsoft, signal);
      case "google":
        return resolve(job, "google", mailbox, deps.resolvers.google, signal);
      case "imap":
        return resolve(job, "imap", mailbox, deps.resolvers.imap, signal);
    }
  };
}
