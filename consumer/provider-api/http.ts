// HTTP for every provider call (resolvers, onboarding, upkeep, sweeps): every call has a timeout
// that covers the whole exchange (headers and body) and follows the caller's abort signal, and
// every failure becomes an InletError that says whether retrying can help. Reading the body goes
// through readBytes/readBytesUpTo/readJson so that a stalled or reset body is classified like a
// stalled request.
import type { z } from "zod";
import { InletError, retryable } from "../domain/errors.ts";
import { concatBytes } from "../../src/queue/bytes.ts";

export interface HttpOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Told of every request's answer (metrics). */
  observe?: ApiObserver;
}

/** One provider request as the metrics count it: `what` names the call (`microsoft_fetch`,
 * `gmail_history`, `google_token`); `error` is set for a status of 400 or more
 * (`<what>_http_<status>`) and for a request that got no answer (`<what>_timeout`, …). */
export interface ApiCall {
  what: string;
  status?: number;
  error?: string;
}

export interface ApiObserver {
  apiCall(call: ApiCall): void;
}

/** A response with the signal that bounds reading its body. */
export interface HttpResponse {
  response: Response;
  status: number;
  what: string;
  timeoutMs: number;
  timeout: AbortSignal;
  jobSignal: AbortSignal | undefined;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  if (!/^[A-Za-z]{3},/.test(trimmed)) return undefined; // an HTTP-date starts with the day's name
  const date = Date.parse(trimmed);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

function classify(error: unknown, call: Pick<HttpResponse, "what" | "timeoutMs" | "timeout" | "jobSignal">): InletError {
  if (error instanceof InletError) return error;
  if (call.jobSignal?.aborted) {
    const reason: unknown = call.jobSignal.reason;
    return reason instanceof InletError ? reason : retryable("aborted", `${call.what}: aborted`, { cause: reason });
  }
  if (call.timeout.aborted) return retryable(`${call.what}_timeout`, `${call.what}: no complete answer within ${call.timeoutMs} ms`, { cause: error });
  return retryable(`${call.what}_unreachable`, `${call.what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

export async function request(url: string, init: RequestInit, options: HttpOptions, what: string): Promise<HttpResponse> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const call = { what, timeoutMs: options.timeoutMs, timeout, jobSignal: options.signal };
  try {
    const response = await fetch(url, { ...init, signal });
    options.observe?.apiCall({ what, status: response.status, ...(response.status >= 400 ? { error: `${what}_http_${response.status}` } : {}) });
    return { response, status: response.status, ...call };
  } catch (error) {
    const failed = classify(error, call);
    options.observe?.apiCall({ what, error: failed.code });
    throw failed;
  }
}

export async function readBytes(call: HttpResponse): Promise<Uint8Array> {
  try {
    return new Uint8Array(await call.response.arrayBuffer());
  } catch (error) {
    throw classify(error, call);
  }
}

/** The body, read no further than `maxBytes`: a larger body (by its Content-Length, or counted
 * while it streams in) is abandoned and reported as too large, so a huge message costs no more
 * memory than the limit. */
export async function readBytesUpTo(call: HttpResponse, maxBytes: number): Promise<{ bytes: Uint8Array } | { tooLarge: number }> {
  const declared = Number(call.response.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await discard(call);
    return { tooLarge: declared };
  }
  const body = call.response.body;
  if (!body) return { bytes: new Uint8Array(0) };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        return { tooLarge: total };
      }
      chunks.push(value);
    }
  } catch (error) {
    throw classify(error, call);
  }
  return { bytes: concatBytes(chunks, total) };
}

/** Bytes as JSON of the given shape (see readJson). */
export function parseJson<T extends z.ZodType>(call: Pick<HttpResponse, "what" | "status">, bytes: Uint8Array, schema: T): z.infer<T> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw retryable(`${call.what}_invalid_response`, `${call.what}: HTTP ${call.status} with a body that is not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw retryable(`${call.what}_invalid_response`, `${call.what}: unexpected response shape at ${parsed.error.issues[0]?.path.join(".") || "(root)"}`);
  return parsed.data;
}

/** The body as JSON of the given shape. A body that does not fit is treated as transient: a proxy's
 * error page or a truncated answer is more likely than a changed API, and retries end in the DLQ. */
export async function readJson<T extends z.ZodType>(call: HttpResponse, schema: T): Promise<z.infer<T>> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await call.response.arrayBuffer());
  } catch (error) {
    throw classify(error, call);
  }
  return parseJson(call, bytes, schema);
}

/** Drain a body we do not need, so the connection can be reused. */
export async function discard(call: HttpResponse): Promise<void> {
  await call.response.body?.cancel().catch(() => undefined);
}

/** The provider's error text (bounded), for messages and for classifying 403s. Never message content:
 * error bodies of these APIs carry codes and descriptions only. */
export async function errorText(call: HttpResponse, maxChars = 500): Promise<string> {
  return (await call.response.text().catch(() => "")).slice(0, maxChars);
}

/** For statuses a caller did not handle itself: 408, 429 and 5xx retry (honouring Retry-After),
 * other statuses are permanent. */
export async function failure(call: HttpResponse, body?: string): Promise<InletError> {
  const text = body ?? (await errorText(call));
  const message = `${call.what}: HTTP ${call.status} ${text.slice(0, 200)}`;
  const code = `${call.what}_http_${call.status}`;
  if (call.status === 429 || call.status >= 500 || call.status === 408) {
    const after = retryAfterMs(call.response.headers.get("retry-after"));
    return retryable(code, message, after === undefined ? {} : { retryAfterMs: after });
  }
  return new InletError(code, message, { disposition: "dead_letter" });
}
