// HTTP for resolvers: every call has a timeout (and follows the job's abort signal), and every
// failure becomes an InletError that says whether retrying can help.
import { InletError, retryable } from "../runtime/errors.ts";

export interface HttpOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

export async function request(url: string, init: RequestInit, options: HttpOptions, what: string): Promise<Response> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    return await fetch(url, { ...init, signal });
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : retryable("aborted", `${what}: aborted`);
    if (timeout.aborted) throw retryable(`${what}_timeout`, `${what}: no answer within ${options.timeoutMs} ms`, { cause: error });
    throw retryable(`${what}_unreachable`, `${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** For statuses a caller did not handle itself: 429 and 5xx retry (honouring Retry-After), others are permanent. */
export async function failure(response: Response, what: string): Promise<InletError> {
  const body = (await response.text().catch(() => "")).slice(0, 200);
  const message = `${what}: HTTP ${response.status} ${body}`;
  if (response.status === 429 || response.status >= 500 || response.status === 408) {
    const after = retryAfterMs(response.headers.get("retry-after"));
    return retryable(`${what}_http_${response.status}`, message, after === undefined ? {} : { retryAfterMs: after });
  }
  return new InletError(`${what}_http_${response.status}`, message, { disposition: "dead_letter" });
}
