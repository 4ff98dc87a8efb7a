// Gmail API: one client for every Gmail call (history, messages, profile, watch). Each call carries
// an access token from the mailbox's refresh token, and answers with an InletError on failure:
//   2xx and 404 → returned to the caller
//   403 with a rate-limit reason (Gmail answers per-user and per-project limits with 403 as well
//       as 429) → retry, honouring Retry-After
//   401, other 403 → one fresh token (it may have been revoked before it expired), then
//       google_auth_revoked (401) or google_access_denied (403): the grant is lost, the mailbox
//       needs re-authorisation
//   429, 5xx, 408, timeouts, resets → retry; any other status → permanent `<what>_http_<status>`
import { authorisationLost, retryable } from "../domain/errors.ts";
import type { GoogleCredentials } from "../domain/mailbox.ts";
import { googleAccessToken, googleTokenKey } from "../auth/google.ts";
import type { TokenCache } from "../auth/token-cache.ts";
import { errorText, failure, request, retryAfterMs, type ApiObserver, type HttpResponse } from "./http.ts";

export interface GmailClientOptions {
  gmailBaseUrl: string;
  tokenUrl: string;
  tokens: TokenCache;
  timeoutMs: number;
  observe?: ApiObserver;
}

export interface GmailRequest {
  method?: "GET" | "POST";
  /** The mailbox address (`users/{userId}`). */
  user: string;
  /** Below `/gmail/v1/users/{user}`: `/history?…`, `/messages/{id}?format=raw`, `/watch`. */
  path: string;
  body?: unknown;
  what: string;
  signal?: AbortSignal;
}

const rateLimited = (body: string) => /rateLimitExceeded|userRateLimitExceeded|quotaExceeded|dailyLimitExceeded|"usageLimits"/.test(body);

export class GmailClient {
  readonly #o: GmailClientOptions;
  readonly #base: string;

  constructor(options: GmailClientOptions) {
    this.#o = options;
    this.#base = options.gmailBaseUrl.replace(/\/$/, "");
  }

  /** An access token for the mailbox `user` (its own refresh token, or the service account acting for it). */
  token(credentials: GoogleCredentials, user: string, signal?: AbortSignal): Promise<string> {
    return googleAccessToken({ tokenUrl: this.#o.tokenUrl, tokens: this.#o.tokens, timeoutMs: this.#o.timeoutMs }, credentials, signal, user);
  }

  async send(credentials: GoogleCredentials, req: GmailRequest): Promise<HttpResponse> {
    const url = `${this.#base}/gmail/v1/users/${encodeURIComponent(req.user)}${req.path}`;
    const once = async () => {
      const headers: Record<string, string> = { authorization: `Bearer ${await this.token(credentials, req.user, req.signal)}`, accept: "application/json" };
      if (req.body !== undefined) headers["content-type"] = "application/json";
      return request(url, { method: req.method ?? "GET", headers, ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }) }, { timeoutMs: this.#o.timeoutMs, ...(req.signal ? { signal: req.signal } : {}), ...(this.#o.observe ? { observe: this.#o.observe } : {}) }, req.what);
    };
    let call = await once();
    if (call.status === 401 || call.status === 403) {
      await this.#refused(call, req.what, false);
      this.#o.tokens.invalidate(googleTokenKey(credentials, { subject: req.user }));
      call = await once();
      if (call.status === 401 || call.status === 403) await this.#refused(call, req.what, true);
    }
    if (call.status === 404 || (call.status >= 200 && call.status <= 299)) return call;
    throw await failure(call);
  }

  /** A rate limit is transient; otherwise, after a fresh token (`final`), the refusal is
   * permanent. Returns only when a fresh token may help. */
  async #refused(call: HttpResponse, what: string, final: boolean): Promise<void> {
    const body = await errorText(call);
    if (call.status === 403 && rateLimited(body)) {
      const after = retryAfterMs(call.response.headers.get("retry-after"));
      throw retryable(`${what}_rate_limited`, `${what}: Gmail rate limit (403) ${body.slice(0, 200)}`, after === undefined ? {} : { retryAfterMs: after });
    }
    if (!final) return;
    throw call.status === 401 ? authorisationLost("google_auth_revoked", `${what}: Gmail refused a freshly issued token (401)`) : authorisationLost("google_access_denied", `${what}: Gmail refused access with a fresh token (403) ${body.slice(0, 200)}`);
  }
}
