// Microsoft Graph: one client for every Graph call (message MIME, delta, subscriptions). Each call
// carries an app-only token and `Prefer: IdType="ImmutableId"` (message ids then survive a move
// between folders), and answers with an InletError on failure:
//   2xx, 404 and the statuses a caller names → returned to the caller
//   401 → the cached token may have been revoked early: one fresh token, then microsoft_auth_revoked
//   403 → a fresh token too (app roles are carried in the token, so a newly granted permission
//         needs one), then microsoft_access_denied
//   (both after a fresh token, and every refusal of the token endpoint: the grant is lost, the
//   mailbox needs re-authorisation; see consumer/auth/token-errors.ts)
//   429, 5xx, 408, timeouts, resets → retry (with Retry-After when Graph gives one)
//   any other status → permanent, coded `<what>_http_<status>`
import { authorisationLost, permanent } from "../domain/errors.ts";
import type { MicrosoftCredentials } from "../domain/mailbox.ts";
import { microsoftAppToken, microsoftTokenKey } from "../auth/microsoft.ts";
import type { TokenCache } from "../auth/token-cache.ts";
import { discard, failure, request, type ApiObserver, type HttpResponse } from "./http.ts";

export interface GraphClientOptions {
  graphBaseUrl: string;
  loginBaseUrl: string;
  tokens: TokenCache;
  timeoutMs: number;
  observe?: ApiObserver;
}

export interface GraphRequest {
  method?: string;
  /** Relative to the Graph base URL (`/users/…`), or an absolute link Graph gave (`@odata.nextLink`). */
  path: string;
  body?: unknown;
  /** Names the call in error codes (`microsoft_fetch_http_503`). */
  what: string;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** Statuses besides 2xx and 404 the caller handles itself (410 for an expired delta link). */
  returns?: readonly number[];
}

export class GraphClient {
  readonly baseUrl: string;
  readonly #o: GraphClientOptions;

  constructor(options: GraphClientOptions) {
    this.#o = options;
    this.baseUrl = options.graphBaseUrl.replace(/\/$/, "");
  }

  get timeoutMs(): number {
    return this.#o.timeoutMs;
  }

  /** An app-only token for the mailbox's tenant (cached). */
  token(credentials: MicrosoftCredentials, signal?: AbortSignal): Promise<string> {
    return microsoftAppToken({ loginBaseUrl: this.#o.loginBaseUrl, tokens: this.#o.tokens, timeoutMs: this.#o.timeoutMs }, credentials, signal);
  }

  /** Whether a link points back at Graph itself: a bearer token goes wherever a link points. */
  isGraphLink(link: string): boolean {
    try {
      return new URL(link).origin === new URL(this.baseUrl).origin;
    } catch {
      return false;
    }
  }

  async send(credentials: MicrosoftCredentials, req: GraphRequest): Promise<HttpResponse> {
    const url = req.path.startsWith("http") ? req.path : `${this.baseUrl}${req.path}`;
    if (req.path.startsWith("http") && !this.isGraphLink(url)) throw permanent(`${req.what}_foreign_link`, `${req.what}: refusing to send a Graph token to ${new URL(url).origin}`);
    const once = async () => {
      const token = await this.token(credentials, req.signal);
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, prefer: 'IdType="ImmutableId"', ...req.headers };
      if (req.body !== undefined) headers["content-type"] = "application/json";
      return request(url, { method: req.method ?? "GET", headers, ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }) }, { timeoutMs: this.#o.timeoutMs, ...(req.signal ? { signal: req.signal } : {}), ...(this.#o.observe ? { observe: this.#o.observe } : {}) }, req.what);
    };
    let call = await once();
    if (call.status === 401 || call.status === 403) {
      await discard(call);
      this.#o.tokens.invalidate(microsoftTokenKey(credentials));
      call = await once();
      if (call.status === 401) throw authorisationLost("microsoft_auth_revoked", `${req.what}: Graph refused a freshly issued token (401)`);
      if (call.status === 403) throw authorisationLost("microsoft_access_denied", `${req.what}: Graph refused access to the mailbox with a fresh token (403): the app's Mail.Read permission is not granted for it`);
    }
    if ((call.status >= 200 && call.status <= 299) || call.status === 404 || req.returns?.includes(call.status)) return call;
    throw await failure(call);
  }
}

/** `users/{mailbox}` as Graph paths spell it. */
export const graphUser = (mailbox: string) => `/users/${encodeURIComponent(mailbox)}`;
