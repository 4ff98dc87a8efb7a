// The consumer's HTTP server (INLET_HTTP_PORT): one Hono app served by Node, shared by the health
// endpoints, metrics, the read API and the operations console.
import { serve, type ServerType } from "@hono/node-server";
import type { Hono } from "hono";
import type { AddressInfo } from "node:net";

export interface HttpServer {
  /** Where it listens, e.g. `http://127.0.0.1:8080`. */
  url: string;
  close(): Promise<void>;
}

export function startHttpServer(app: Hono, options: { port: number; host: string }): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    let server: ServerType;
    const onError = (error: Error) => reject(new Error(`the HTTP server could not listen on ${options.host}:${options.port} (INLET_HTTP_PORT, INLET_HTTP_HOST): ${error.message}`));
    server = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, (info: AddressInfo) => {
      server.off("error", onError);
      const host = info.family === "IPv6" ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            if ("closeAllConnections" in server) server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
    server.once("error", onError);
  });
}
