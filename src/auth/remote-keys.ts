// Signing keys from a JWKS URL, cached in the isolate (jose's local key set over fetched JSON).
//
// jose's own remote key set cannot share a pending fetch on Workers (a request may not await a
// promise another request created), so every request that arrives before the first fetch ends
// fetches the keys again: nine fetches at isolate start under load. Here the first request
// fetches and the others wait for its result by polling plain isolate state (a few ms at a
// time, at most `timeoutMs`); if that fetch never ends (its request went away), they fetch
// themselves.
import { createLocalJWKSet, errors, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters, type KeyObject, type CryptoKey as JoseKey } from "jose";

export interface RemoteKeysOptions {
  /** Keys are refetched after this long (Google rotates with days of overlap). */
  maxAgeMs?: number;
  /** An unknown kid refetches at most this often. */
  cooldownMs?: number;
  timeoutMs?: number;
}

const POLL_MS = 2;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class RemoteKeys {
  readonly url: string;
  readonly #maxAgeMs: number;
  readonly #cooldownMs: number;
  readonly #timeoutMs: number;
  #local: ReturnType<typeof createLocalJWKSet> | undefined;
  #fetchedAt = 0;
  #loadingSince = 0;
  /** How many times the keys were fetched (for tests and the benchmark). */
  fetches = 0;

  constructor(url: string, options: RemoteKeysOptions = {}) {
    this.url = url;
    this.#maxAgeMs = options.maxAgeMs ?? 3_600_000;
    this.#cooldownMs = options.cooldownMs ?? 30_000;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** A jose key resolver (`jwtVerify(token, keys.getKey, ...)`). */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<JoseKey | KeyObject> => {
    if (!this.#local || Date.now() - this.#fetchedAt > this.#maxAgeMs) await this.#load();
    try {
      return await this.#local!(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || Date.now() - this.#fetchedAt < this.#cooldownMs) throw error;
      await this.#load();
      return this.#local!(header, token);
    }
  };

  async #load(): Promise<void> {
    const asked = Date.now();
    while (this.#loadingSince > 0 && Date.now() - this.#loadingSince < this.#timeoutMs) {
      await sleep(POLL_MS);
      if (this.#fetchedAt >= asked && this.#local) return;
    }
    if (this.#fetchedAt >= asked && this.#local) return;
    this.#loadingSince = Date.now();
    try {
      this.fetches++;
      const response = await fetch(this.url, { signal: AbortSignal.timeout(this.#timeoutMs), headers: { accept: "application/json" } });
      if (!response.ok) throw new errors.JOSEError(`JWKS answered ${response.status}`);
      const set = (await response.json()) as JSONWebKeySet;
      if (!set || !Array.isArray(set.keys)) throw new errors.JWKSInvalid("JWKS has no keys array");
      this.#local = createLocalJWKSet(set);
      this.#fetchedAt = Date.now();
    } finally {
      this.#loadingSince = 0;
    }
  }
}

const byUrl = new Map<string, RemoteKeys>();

/** One key cache per URL and isolate. */
export function remoteKeys(url: string): RemoteKeys {
  let keys = byUrl.get(url);
  if (!keys) {
    keys = new RemoteKeys(url);
    byUrl.set(url, keys);
  }
  return keys;
}
