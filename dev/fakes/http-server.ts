// A tiny routing HTTP server for the local provider fakes (used by tests, `inlet dev` and `inlet demo`).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface FakeRequest {
  method: string;
  url: URL;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

export type FakeResponse = {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer | object;
  /** Send the headers and the first bytes of the body, then wait this long before the rest. */
  stallBodyMs?: number;
};
export type Handler = (req: FakeRequest, match: RegExpExecArray) => FakeResponse | Promise<FakeResponse>;
export type Route = [method: string, path: RegExp, handler: Handler];

export interface FakeServer {
  url: string;
  close(): Promise<void>;
}

export async function startFakeServer(routes: Route[], port = 0): Promise<FakeServer> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const request: FakeRequest = { method: req.method ?? "GET", url, headers: req.headers, body: Buffer.concat(chunks) };
      for (const [method, path, handler] of routes) {
        const match = method === request.method ? path.exec(url.pathname) : null;
        if (!match) continue;
        Promise.resolve(handler(request, match)).then(
          (response) => send(res, response),
          (error: unknown) => send(res, { status: 500, body: { error: { code: "fake_error", message: String(error) } } }),
        );
        return;
      }
      send(res, { status: 404, body: { error: { code: "NotFound", message: `no fake route for ${request.method} ${url.pathname}` } } });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : port}`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

function send(res: ServerResponse, response: FakeResponse): void {
  const body = response.body === undefined ? "" : typeof response.body === "string" || Buffer.isBuffer(response.body) ? response.body : JSON.stringify(response.body);
  const type = response.body !== undefined && typeof response.body === "object" && !Buffer.isBuffer(response.body) ? { "content-type": "application/json" } : {};
  res.writeHead(response.status, { ...type, ...response.headers });
  if (!response.stallBodyMs || body.length < 2) {
    res.end(body);
    return;
  }
  const bytes = Buffer.from(body);
  res.write(bytes.subarray(0, 1));
  const timer = setTimeout(() => res.end(bytes.subarray(1)), response.stallBodyMs);
  res.on("close", () => clearTimeout(timer));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fault to inject on one resource: an HTTP status (with Retry-After and the provider's error
 * body), a delay before answering, or a body that stalls after its first byte. */
export interface Fault {
  status?: number;
  retryAfter?: string;
  /** The error body to send with `status` (default a Graph-style `{error: {code, message}}`). */
  body?: object;
  delayMs?: number;
  /** Answer normally, but stall the body this long after its first byte. */
  stallBodyMs?: number;
  /** How many requests it applies to before the resource behaves again (default: always). */
  times?: number;
}

export class Faults {
  readonly #faults = new Map<string, Fault>();
  readonly #hits = new Map<string, number>();

  set(key: string, fault: Fault): void {
    this.#faults.set(key, { ...fault });
  }

  clear(key?: string): void {
    if (key === undefined) this.#faults.clear();
    else this.#faults.delete(key);
  }

  /** The fault to apply now, if any (counting down `times`). */
  async apply(key: string): Promise<FakeResponse | undefined> {
    const fault = this.#faults.get(key);
    if (!fault || (fault.stallBodyMs && !fault.status && !fault.delayMs)) return undefined; // see stall()
    if (fault.times !== undefined) {
      if (fault.times <= 0) return undefined;
      fault.times--;
    }
    if (fault.delayMs) await sleep(fault.delayMs);
    if (!fault.status) return undefined;
    this.#hits.set(key, (this.#hits.get(key) ?? 0) + 1);
    const body = fault.body ?? { error: { code: fault.status === 429 ? "TooManyRequests" : fault.status >= 500 ? "ServiceUnavailable" : "InjectedFault", message: "injected fault" } };
    return { status: fault.status, headers: fault.retryAfter ? { "retry-after": fault.retryAfter } : {}, body };
  }

  /** How many requests for `key` were answered with its fault's status so far. */
  hits(key: string): number {
    return this.#hits.get(key) ?? 0;
  }

  /** How long to stall the body of a normal answer for `key` (used by routes that serve content). */
  stall(key: string): number | undefined {
    const fault = this.#faults.get(key);
    if (!fault?.stallBodyMs || fault.status) return undefined;
    if (fault.times !== undefined) {
      if (fault.times <= 0) return undefined;
      fault.times--;
    }
    return fault.stallBodyMs;
  }
}

/** A small HTML page, as identity providers answer a browser. */
export const htmlPage = (status: number, title: string, text: string): FakeResponse => ({
  status,
  headers: { "content-type": "text/html; charset=utf-8" },
  body: `<!doctype html><title>${title}</title><h1>${title}</h1><p>${text.replace(/[<>&]/g, "")}</p>`,
});

export const redirect = (location: string): FakeResponse => ({ status: 302, headers: { location } });

/** The redirect URI with these query parameters added. */
export function withQuery(uri: string, params: Record<string, string>): string {
  const url = new URL(uri);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

/** http://127.0.0.1, http://[::1] or http://localhost, any port: an installed app's loopback redirect. */
export function isLoopbackRedirect(uri: string): boolean {
  try {
    const url = new URL(uri);
    return url.protocol === "http:" && ["127.0.0.1", "[::1]", "localhost"].includes(url.hostname);
  } catch {
    return false;
  }
}
