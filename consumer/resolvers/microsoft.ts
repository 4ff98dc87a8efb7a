// Microsoft Graph: the message's MIME by its immutable id, through the Graph client (token,
// immutable ids, error model: consumer/provider-api/graph-client.ts):
//   200 → the exact bytes go to processing (providerMessageId = the immutable id); a message
//         over the size limit is not downloaded past it, and is recorded as too large
//   404 → skip, source_unavailable:microsoft_message_not_found (deleted or moved out of reach)
//   401/403 after a fresh token → microsoft_auth_revoked / microsoft_access_denied (permanent)
//   429, 5xx, timeouts, resets → retry (with Retry-After when Graph gives one)
// Lifecycle jobs (subscription upkeep) are not messages: consumer/providers/upkeep.ts handles them.
import { singleMessage, type JobOutcome } from "../domain/job.ts";
import type { GraphClient } from "../provider-api/graph-client.ts";
import { fetchMime } from "../provider-api/graph-messages.ts";
import { fetched } from "./fetched.ts";
import type { ResolveContext, Resolver } from "./resolver.ts";

export function createMicrosoftResolver(options: { graph: GraphClient; maxMessageBytes: number }): Resolver<"microsoft"> {
  return {
    provider: "microsoft",
    async handle({ job, mailbox, processor, signal }: ResolveContext<"microsoft">): Promise<JobOutcome> {
      const { messageId } = job.pointer;
      const body = await fetchMime(options.graph, mailbox.credentials, mailbox.address, messageId, options.maxMessageBytes, signal);
      const outcome = await processor.process({ provider: "microsoft", tenantId: job.tenantId, providerId: job.providerId, providerMessageId: messageId, ...fetched(body) }, signal);
      return singleMessage(outcome);
    },
    async close() {},
  };
}
