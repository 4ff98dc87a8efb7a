// The loopback redirect of an installed app (RFC 8252 section 7.3): a one-request HTTP server on
// 127.0.0.1 that waits for the browser to come back from the authorization server. Only a
// redirect carrying this flow's `state` ends the wait; any other request (a forged or stale
// redirect, a page another site points at this port) is answered 400 and changes nothing.
import { createServer, type Server } from "node:http";
import { InletError } from "../domain/errors.ts";
import { sameState } from "./pkce.ts";

export interface LoopbackRedirect {
  /** http://127.0.0.1:<port><path>, to send as redirect_uri. */
  redirectUri: string;
  /** The query of the redirect that carried the right state. */
  callback: Promise<URLSearchParams>;
  /** Requests refused for a missing or wrong state. */
  refused(): number;
  close(): Promise<void>;
}

export interface LoopbackOptions {
  state: string;
  timeoutMs: number;
  /** 0 (default): any free port. */
  port?: number;
  path?: string;
}

const page = (title: string, text: string) => `<!doctype html><meta charset="utf-8"><title>Inlet</title><h1>${title}</h1><p>${text}</p>`;

export async function startLoopbackRedirect(options: LoopbackOptions): Promise<LoopbackRedirect> {
  const path = options.path ?? "/";
  let refused = 0;
  let settle: { resolve(q: URLSearchParams): void; reject(e: Error): void } | undefined;
  const callback = new Promise<URLSearchParams>((resolve, reject) => (settle = { resolve, reject }));
  callback.catch(() => undefined);
  let done = false;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method !== "GET" || url.pathname !== path || done) return void res.writeHead(404).end();
    if (!sameState(options.state, url.searchParams.get("state"))) {
      refused++;
      return void res.writeHead(400, { "content-type": "text/html; charset=utf-8" }).end(page("Refused", "This redirect does not belong to the sign-in Inlet started (its state does not match). Nothing was changed."));
    }
    done = true;
    const failed = url.searchParams.has("error");
    res.writeHead(failed ? 400 : 200, { "content-type": "text/html; charset=utf-8", connection: "close" }).end(failed ? page("Not connected", "The sign-in did not grant access. See the terminal.") : page("Connected", "Inlet has what it needs. You can close this window."));
    settle?.resolve(url.searchParams);
  });
  await new Promise<void>((resolve, reject) => (server.once("error", reject), server.listen(options.port ?? 0, "127.0.0.1", resolve)));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const timer = setTimeout(() => settle?.reject(new InletError("oauth_redirect_timeout", `no redirect came back to http://127.0.0.1:${port}${path} within ${Math.round(options.timeoutMs / 1000)} s`, { disposition: "dead_letter" })), options.timeoutMs);
  const close = () => new Promise<void>((resolve) => (clearTimeout(timer), server.closeAllConnections(), server.close(() => resolve())));
  return { redirectUri: `http://127.0.0.1:${port}${path}`, callback, refused: () => refused, close };
}
