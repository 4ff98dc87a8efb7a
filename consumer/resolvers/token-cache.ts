// OAuth access tokens, cached per credential until shortly before they expire; concurrent jobs
// for the same mailbox share one token request.
import { z } from "zod";
import { permanent } from "../runtime/errors.ts";
import { failure, request, type HttpOptions } from "./http.ts";

const tokenSchema = z.object({ access_token: z.string().min(1), expires_in: z.coerce.number().positive(), token_type: z.string().optional() });

interface Cached {
  token: string;
  expiresAt: number;
}

export class TokenCache {
  readonly #tokens = new Map<string, Cached>();
  readonly #pending = new Map<string, Promise<string>>();
  /** Renew this long before expiry. */
  readonly #marginMs: number;
  requests = 0;

  constructor(marginMs = 60_000) {
    this.#marginMs = marginMs;
  }

  async get(key: string, tokenUrl: string, form: Record<string, string>, options: HttpOptions, what: string): Promise<string> {
    const cached = this.#tokens.get(key);
    if (cached && cached.expiresAt - this.#marginMs > Date.now()) return cached.token;
    const pending = this.#pending.get(key);
    if (pending) return pending;
    const fetching = this.#fetch(key, tokenUrl, form, options, what).finally(() => this.#pending.delete(key));
    this.#pending.set(key, fetching);
    return fetching;
  }

  /** Forget a token the provider refused (it may have been revoked early). */
  invalidate(key: string): void {
    this.#tokens.delete(key);
  }

  async #fetch(key: string, tokenUrl: string, form: Record<string, string>, options: HttpOptions, what: string): Promise<string> {
    this.requests++;
    const response = await request(tokenUrl, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form).toString() }, options, `${what}_token`);
    if (response.status === 400 || response.status === 401 || response.status === 403) {
      const body = (await response.text().catch(() => "")).slice(0, 200);
      throw permanent(`${what}_auth_revoked`, `${what}: the token endpoint refused the credentials (HTTP ${response.status}) ${body}`);
    }
    if (!response.ok) throw await failure(response, `${what}_token`);
    const parsed = tokenSchema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw permanent(`${what}_token_invalid`, `${what}: the token endpoint answered without an access_token`);
    this.#tokens.set(key, { token: parsed.data.access_token, expiresAt: Date.now() + parsed.data.expires_in * 1000 });
    return parsed.data.access_token;
  }
}
