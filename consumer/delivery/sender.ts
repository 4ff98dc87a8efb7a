// One HTTP POST of a webhook: to the address url-policy.ts checked (the TLS name and Host header
// stay the URL's), redirects not followed (a 3xx is an answer that is not 2xx), at most
// `maxResponseBytes` of the response read, the whole exchange bounded by `timeoutMs`.
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import { checkUrlShape, resolveChecked, UrlRefused, type UrlPolicy } from "./url-policy.ts";

export interface SendOptions {
  policy: UrlPolicy;
  timeoutMs: number;
  maxResponseBytes: number;
}

export type SendResult =
  | { ok: true; status: number; durationMs: number }
  | { ok: false; status: number | null; error: string; durationMs: number };

export async function postWebhook(rawUrl: string, body: string, headers: Record<string, string>, options: SendOptions): Promise<SendResult> {
  const started = performance.now();
  const took = () => Math.round(performance.now() - started);
  let url: URL;
  let target: { address: string; family: 4 | 6 };
  try {
    url = checkUrlShape(rawUrl, options.policy);
    target = await resolveChecked(url, options.policy);
  } catch (error) {
    if (error instanceof UrlRefused) return { ok: false, status: null, error: `${error.code}: ${error.message}`, durationMs: took() };
    throw error;
  }
  const pinned: LookupFunction = (_host, opts, callback) => {
    if (opts.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (result: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const req = request(
      url,
      {
        method: "POST",
        lookup: pinned,
        agent: false,
        headers: { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), "user-agent": "Inlet-Webhooks/1" },
      },
      (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        let read = 0;
        res.on("data", (chunk: Buffer) => {
          read += chunk.length;
          // Only the status matters; a large answer is not read to its end.
          if (read > options.maxResponseBytes) done();
        });
        const done = () => finish(status >= 200 && status < 300 ? { ok: true, status, durationMs: took() } : { ok: false, status, error: `http_${status}`, durationMs: took() });
        res.on("end", done);
        res.on("error", done);
      },
    );
    const timer = setTimeout(() => finish({ ok: false, status: null, error: `timeout: no complete answer within ${options.timeoutMs} ms`, durationMs: took() }), options.timeoutMs);
    req.on("error", (error: NodeJS.ErrnoException) => finish({ ok: false, status: null, error: `network: ${error.code ?? error.message}`, durationMs: took() }));
    req.end(body);
  });
}
