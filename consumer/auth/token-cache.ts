// OAuth access tokens, cached per credential until shortly before they expire; concurrent jobs
// for the same credential share one token request (single flight). The shared request is bounded
// by its own timeout, not by the signal of whichever job started it: one job being cancelled must
// not fail the others waiting on the same token.
import { createHash } from "node:crypto";
import { z } from "zod";
import { permanent, retryable } from "../domain/errors.ts";
import { errorText, failure, readJson, request, type HttpOptions } from "../provider-api/http.ts";

const tokenSchema = z.object({ access_token: z.string().min(1), expires_in: z.coerce.number().positive(), token_type: z.string().optional() });

interface Cached {
  token: string;
  expiresAt: number;
  /** When to fetch a new one: a margin before expiry, at most half the token's lifetime. */
  refreshAt: number;
}

/** A cache key for a credential that does not keep the secret itself in memory as a map key. */
export function credentialKey(...parts: string[]): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("base64url");
}

export class TokenCache {
  readonly #tokens = new Map<string, Cached>();
  readonly #pending = new Map<string, Promise<string>>();
  readonly #marginMs: number;
  /** Token endpoint requests made (for tests and metrics). */
  requests = 0;

  /** @param marginMs renew this long before expiry (default one minute). */
  constructor(marginMs = 60_000) {
    this.#marginMs = marginMs;
  }

  async get(key: string, tokenUrl: string, form: Record<string, string>, options: HttpOptions, what: string): Promise<string> {
    const cached = this.#tokens.get(key);
    if (cached && cached.refreshAt > Date.now()) return cached.token;
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#fetch(key, tokenUrl, form, options.timeoutMs, what).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    return options.signal ? abortable(pending, options.signal) : pending;
  }

  /** Forget a token the provider refused (it may have been revoked before it expired). */
  invalidate(key: string): void {
    this.#tokens.delete(key);
  }

  async #fetch(key: string, tokenUrl: string, form: Record<string, string>, timeoutMs: number, what: string): Promise<string> {
    this.requests++;
    const call = await request(tokenUrl, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" }, body: new URLSearchParams(form).toString() }, { timeoutMs }, `${what}_token`);
    // 400 invalid_grant / invalid_client and 401: the credentials themselves are refused.
    if (call.status === 400 || call.status === 401 || call.status === 403) {
      throw permanent(`${what}_auth_revoked`, `${what}: the token endpoint refused the credentials (HTTP ${call.status}) ${(await errorText(call)).slice(0, 200)}`);
    }
    if (call.status < 200 || call.status > 299) throw await failure(call);
    const body = await readJson(call, tokenSchema);
    const now = Date.now();
    const lifetimeMs = body.expires_in * 1000;
    this.#tokens.set(key, { token: body.access_token, expiresAt: now + lifetimeMs, refreshAt: now + lifetimeMs - Math.min(this.#marginMs, lifetimeMs / 2) });
    return body.access_token;
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
