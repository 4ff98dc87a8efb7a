// One HTTP POST of a webhook: to the address url-policy.ts checked (the TLS name and Host header
// stay the URL's), redirects not followed (a 3xx is an answer that is not 2xx), at most
// `maxResponseBytes` of the response read, the whole exchange bounded by `timeoutMs`.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
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

// Connections are kept open between attempts to the same endpoint (a new one is made to the
// address checked for that attempt; one that was cut short is destroyed, never reused).
const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 16, maxFreeSockets: 4, timeout: 30_000 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 16, maxFreeSockets: 4, timeout: 30_000 }) };

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
  const secure = url.protocol === "https:";
  const request = secure ? httpsRequest : httpRequest;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (result: SendResult, cutShort: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (cutShort) req.destroy();
      resolve(result);
    };
    const req = request(
      url,
      {
        method: "POST",
        lookup: pinned,
        agent: secure ? agents.https : agents.http,
        headers: { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), "user-agent": "Inlet-Webhooks/1" },
      },
      (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        let read = 0;
        res.on("data", (chunk: Buffer) => {
          read += chunk.length;
          // Only the status matters; a large answer is not read to its end.
          if (read > options.maxResponseBytes) done(true);
        });
        const done = (cutShort: boolean) => finish(status >= 200 && status < 300 ? { ok: true, status, durationMs: took() } : { ok: false, status, error: `http_${status}`, durationMs: took() }, cutShort);
        res.on("end", () => done(false));
        res.on("error", () => done(true));
      },
    );
    const timer = setTimeout(() => finish({ ok: false, status: null, error: `timeout: no complete answer within ${options.timeoutMs} ms`, durationMs: took() }, true), options.timeoutMs);
    req.on("error", (error: NodeJS.ErrnoException) => finish({ ok: false, status: null, error: `network: ${error.code ?? error.message}`, durationMs: took() }, true));
    req.end(body);
  });
}
