// OAuth access tokens, cached per credential and scope until shortly before they expire;
// concurrent users of the same credential share one token request (single flight). The shared
// request is bounded by its own timeout, not by the signal of whichever job started it: one job
// being cancelled must not fail the others waiting on the same token.
import { createHash } from "node:crypto";
import { z } from "zod";
import { authorisationLost, InletError, retryable } from "../domain/errors.ts";
import { errorText, failure, readJson, request, type ApiObserver, type HttpOptions } from "../provider-api/http.ts";
import { tokenRefusal, type TokenIssuer } from "./token-errors.ts";

const tokenSchema = z.object({ access_token: z.string().min(1), expires_in: z.coerce.number().positive(), token_type: z.string().optional() });

export interface AccessToken {
  token: string;
  /** When the provider says it expires (epoch ms). */
  expiresAt: number;
  /** When a new one is fetched: a margin before expiry, at most half the token's lifetime. */
  refreshAt: number;
}

/** One token request: where, and the form (built when it is sent: a signed assertion is made
 * fresh for each request). */
export interface TokenRequest {
  url: string;
  form(): Promise<Record<string, string>> | Record<string, string>;
  issuer: TokenIssuer;
}

/** A cache key for a credential that does not keep the secret itself in memory as a map key. */
export function credentialKey(...parts: string[]): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("base64url");
}

export class TokenCache {
  readonly #tokens = new Map<string, AccessToken>();
  readonly #pending = new Map<string, Promise<AccessToken>>();
  readonly #marginMs: number;
  readonly #observe: ApiObserver | undefined;
  /** Token endpoint requests made (for tests and metrics). */
  requests = 0;

  /** @param marginMs renew this long before expiry (default one minute).
   * @param observe told of every token request's answer (metrics). */
  constructor(marginMs = 60_000, observe?: ApiObserver) {
    this.#marginMs = marginMs;
    this.#observe = observe;
  }

  async get(key: string, tokenRequest: TokenRequest, options: HttpOptions): Promise<AccessToken> {
    const cached = this.#tokens.get(key);
    if (cached && cached.refreshAt > Date.now()) return cached;
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#fetch(key, tokenRequest, options.timeoutMs).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    return options.signal ? abortable(pending, options.signal) : pending;
  }

  /** Forget a token the provider refused (it may have been revoked before it expired). */
  invalidate(key: string): void {
    this.#tokens.delete(key);
  }

  async #fetch(key: string, tokenRequest: TokenRequest, timeoutMs: number): Promise<AccessToken> {
    this.requests++;
    const { issuer } = tokenRequest;
    let form: Record<string, string>;
    try {
      form = await tokenRequest.form();
    } catch (error) {
      if (error instanceof InletError) throw error;
      // A private key that cannot sign: the stored credential itself is unusable.
      throw authorisationLost(`${issuer}_credentials_unusable`, `${issuer}: the stored key cannot sign a token request (${error instanceof Error ? error.message.slice(0, 120) : "unknown error"})`, { cause: error });
    }
    const body = new URLSearchParams(form).toString();
    const call = await request(tokenRequest.url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" }, body }, { timeoutMs, ...(this.#observe ? { observe: this.#observe } : {}) }, `${issuer}_token`);
    if (call.status === 400 || call.status === 401 || call.status === 403) throw tokenRefusal(issuer, call.status, await errorText(call, 8000));
    if (call.status < 200 || call.status > 299) throw await failure(call);
    const answer = await readJson(call, tokenSchema);
    const now = Date.now();
    const lifetimeMs = answer.expires_in * 1000;
    const token: AccessToken = { token: answer.access_token, expiresAt: now + lifetimeMs, refreshAt: now + lifetimeMs - Math.min(this.#marginMs, lifetimeMs / 2) };
    this.#tokens.set(key, token);
    return token;
  }
}

const abortReason = (signal: AbortSignal): Error => (signal.reason instanceof Error ? signal.reason : retryable("aborted", "token request abandoned: the job was aborted"));

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => (signal.removeEventListener("abort", onAbort), resolve(value)),
      (error: unknown) => (signal.removeEventListener("abort", onAbort), reject(error)),
    );
  });
}
