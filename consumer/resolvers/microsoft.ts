// Microsoft Graph: app-only token (client credentials), then the message's MIME by its
// immutable id: GET {graph}/users/{mailbox}/messages/{id}/$value with Prefer: IdType="ImmutableId".
import type { Job } from "../../src/queue/job.ts";
import { permanent, sourceUnavailable } from "../runtime/errors.ts";
import type { JobOutcome, ResolveContext, Resolver } from "../runtime/resolver.ts";
import { failure, request } from "./http.ts";
import type { TokenCache } from "./token-cache.ts";
import { singleMessage } from "./outcome.ts";

export interface MicrosoftResolverOptions {
  graphBaseUrl: string;
  loginBaseUrl: string;
  tokens: TokenCache;
  timeoutMs: number;
}

export function microsoftToken(options: MicrosoftResolverOptions, credentials: { azureTenantId: string; clientId: string; clientSecret: string }, signal?: AbortSignal): Promise<string> {
  const url = `${options.loginBaseUrl.replace(/\/$/, "")}/${encodeURIComponent(credentials.azureTenantId)}/oauth2/v2.0/token`;
  return options.tokens.get(
    `microsoft:${credentials.azureTenantId}:${credentials.clientId}`,
    url,
    { grant_type: "client_credentials", client_id: credentials.clientId, client_secret: credentials.clientSecret, scope: "https://graph.microsoft.com/.default" },
    { timeoutMs: options.timeoutMs, ...(signal ? { signal } : {}) },
    "microsoft",
  );
}

export function createMicrosoftResolver(options: MicrosoftResolverOptions): Resolver {
  return {
    provider: "microsoft",
    async handle({ job, mailbox, processor, signal }: ResolveContext): Promise<JobOutcome> {
      if (job.provider !== "microsoft" || job.kind === "lifecycle") throw permanent("malformed_pointer", "not a Microsoft message job");
      if (mailbox.credentials.type !== "microsoft") throw permanent("provider_mismatch", "mailbox has no Microsoft credentials");
      const credentials = mailbox.credentials;
      const pointer = (job as Extract<Job, { provider: "microsoft"; pointer: { messageId: string } }>).pointer;
      const url = `${options.graphBaseUrl.replace(/\/$/, "")}/users/${encodeURIComponent(mailbox.address)}/messages/${encodeURIComponent(pointer.messageId)}/$value`;
      const fetchMime = async (token: string) =>
        request(url, { headers: { authorization: `Bearer ${token}`, prefer: 'IdType="ImmutableId"' } }, { timeoutMs: options.timeoutMs, signal }, "microsoft_fetch");

      let response = await fetchMime(await microsoftToken(options, credentials, signal));
      if (response.status === 401) {
        // The cached token may have been revoked early: one fresh token, then it is the credentials.
        options.tokens.invalidate(`microsoft:${credentials.azureTenantId}:${credentials.clientId}`);
        response = await fetchMime(await microsoftToken(options, credentials, signal));
        if (response.status === 401) throw permanent("microsoft_auth_revoked", "Graph refused a fresh token (401)");
      }
      if (response.status === 404) throw sourceUnavailable("microsoft_message_not_found", "Graph has no such message (deleted or moved out of reach)");
      if (response.status === 403) throw permanent("microsoft_access_denied", "Graph refused access to the mailbox (403)");
      if (!response.ok) throw await failure(response, "microsoft_fetch");
      const raw = new Uint8Array(await response.arrayBuffer());
      const outcome = await processor.process({ provider: "microsoft", tenantId: job.tenantId, providerId: job.providerId, providerMessageId: pointer.messageId, raw }, signal);
      return singleMessage(outcome);
    },
    async close() {},
  };
}
