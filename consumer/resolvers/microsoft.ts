// Microsoft Graph: an app-only token (client credentials, scope https://graph.microsoft.com/.default),
// then the message's MIME by its immutable id:
//   GET {graph}/users/{mailbox}/messages/{id}/$value   with Prefer: IdType="ImmutableId"
//   200 → the exact bytes go to processing (providerMessageId = the immutable id)
//   404 → skip, source_unavailable:microsoft_message_not_found (deleted or moved out of reach)
//   401 → the cached token may have been revoked early: one fresh token, then microsoft_auth_revoked
//   403 → a fresh token too (app roles are carried in the token, so a newly granted permission
//         needs one), then microsoft_access_denied
//   429, 5xx, timeouts, resets → retry (with Retry-After when Graph gives one)
// Lifecycle jobs (subscription upkeep) are not messages: consumer/providers/upkeep.ts handles them.
import type { MicrosoftPointer } from "../../src/queue/job.ts";
import { permanent, sourceUnavailable } from "../runtime/errors.ts";
import type { MicrosoftCredentials } from "../runtime/handler.ts";
import type { JobOutcome, ResolveContext, Resolver } from "../runtime/resolver.ts";
import { discard, failure, readBytes, request } from "./http.ts";
import { singleMessage } from "./outcome.ts";
import { credentialKey, type TokenCache } from "./token-cache.ts";

export interface MicrosoftResolverOptions {
  graphBaseUrl: string;
  loginBaseUrl: string;
  tokens: TokenCache;
  timeoutMs: number;
}

type AppCredentials = Pick<MicrosoftCredentials, "azureTenantId" | "clientId" | "clientSecret">;

const tokenKey = (c: AppCredentials) => credentialKey("microsoft", c.azureTenantId, c.clientId, c.clientSecret);

export function microsoftToken(options: MicrosoftResolverOptions, credentials: AppCredentials, signal?: AbortSignal): Promise<string> {
  const url = `${options.loginBaseUrl.replace(/\/$/, "")}/${encodeURIComponent(credentials.azureTenantId)}/oauth2/v2.0/token`;
  return options.tokens.get(
    tokenKey(credentials),
    url,
    { grant_type: "client_credentials", client_id: credentials.clientId, client_secret: credentials.clientSecret, scope: "https://graph.microsoft.com/.default" },
    { timeoutMs: options.timeoutMs, ...(signal ? { signal } : {}) },
    "microsoft",
  );
}

export function createMicrosoftResolver(options: MicrosoftResolverOptions): Resolver {
  const graph = options.graphBaseUrl.replace(/\/$/, "");

  return {
    provider: "microsoft",
    async handle({ job, mailbox, processor, signal }: ResolveContext): Promise<JobOutcome> {
      if (job.provider !== "microsoft") throw permanent("malformed_pointer", `not a Microsoft job (${job.provider})`);
      if (job.kind === "lifecycle") throw permanent("unsupported_job_kind", "a Graph lifecycle job is subscription upkeep, not a message: route it to the lifecycle handler");
      if (mailbox.credentials.type !== "microsoft") throw permanent("provider_mismatch", "mailbox has no Microsoft credentials");
      const credentials = mailbox.credentials;
      const pointer: MicrosoftPointer = job.pointer;
      const url = `${graph}/users/${encodeURIComponent(mailbox.address)}/messages/${encodeURIComponent(pointer.messageId)}/$value`;
      const fetchMime = async () => {
        const token = await microsoftToken(options, credentials, signal);
        return request(url, { headers: { authorization: `Bearer ${token}`, prefer: 'IdType="ImmutableId"' } }, { timeoutMs: options.timeoutMs, signal }, "microsoft_fetch");
      };

      let call = await fetchMime();
      if (call.status === 401 || call.status === 403) {
        await discard(call);
        options.tokens.invalidate(tokenKey(credentials));
        call = await fetchMime();
        if (call.status === 401) throw permanent("microsoft_auth_revoked", "Graph refused a freshly issued token (401)");
        if (call.status === 403) throw permanent("microsoft_access_denied", "Graph refused access to the mailbox with a fresh token (403)");
      }
      if (call.status === 404) {
        await discard(call);
        throw sourceUnavailable("microsoft_message_not_found", "Graph has no such message (deleted or moved out of reach)");
      }
      if (call.status !== 200) throw await failure(call);
      const raw = await readBytes(call);
      const outcome = await processor.process({ provider: "microsoft", tenantId: job.tenantId, providerId: job.providerId, providerMessageId: pointer.messageId, raw }, signal);
      return singleMessage(outcome);
    },
    async close() {},
  };
}
