// From a claimed job to an outcome: find the connected mailbox, pick the provider's resolver,
// resolve and process. Lifecycle jobs (Graph subscription upkeep) go to the upkeep handler.
import type { Claim } from "../../src/queue/queue.ts";
import type { Job, Provider } from "../../src/queue/job.ts";
import type { JobHandler } from "./consumer.ts";
import { permanent } from "./errors.ts";
import type { MailboxDirectory, MessageProcessor } from "./handler.ts";
import type { JobOutcome, Resolver } from "./resolver.ts";

export interface LifecycleHandler {
  handle(job: Extract<Job, { kind: "lifecycle" }>, signal: AbortSignal): Promise<JobOutcome>;
}

export interface JobHandlerDeps {
  directory: MailboxDirectory;
  resolvers: Partial<Record<Provider, Resolver>>;
  processor: MessageProcessor;
  lifecycle?: LifecycleHandler;
}

export function createJobHandler(deps: JobHandlerDeps): JobHandler {
  return async (claim: Claim, signal: AbortSignal): Promise<JobOutcome> => {
    const { job } = claim;
    if (job.kind === "lifecycle") {
      if (!deps.lifecycle) throw permanent("lifecycle_unsupported", "this consumer has no subscription upkeep configured");
      return deps.lifecycle.handle(job, signal);
    }
    const mailbox = await deps.directory.get(job.providerId);
    // The mailbox was disconnected after the notification was accepted: nothing to do, by design.
    if (!mailbox) return { outcome: "skipped", reason: "provider_not_found" };
    if (mailbox.tenantId !== job.tenantId || mailbox.kind !== job.provider) {
      throw permanent("provider_mismatch", `job names tenant ${job.tenantId} / ${job.provider}, the provider row says ${mailbox.tenantId} / ${mailbox.kind}`);
    }
    const resolver = deps.resolvers[job.provider];
    if (!resolver) throw permanent("resolver_unavailable", `no resolver configured for ${job.provider}`);
    return resolver.handle({ job, mailbox, directory: deps.directory, processor: deps.processor, signal });
  };
}
