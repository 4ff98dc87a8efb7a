// A webhook receiver for tests and benchmarks: verifies every delivery with the `standardwebhooks`
// package (the reference verifier, written by no one here) against the secrets it is told, and
// records what arrived. "Applied" is what a careful receiver does: each webhook-id once, however
// often it is delivered. Faults are chosen per request by `behaviour` (answer 2xx, answer 500,
// hang past the sender's timeout); `down()` closes the port so connections are refused.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export type Behaviour = "ok" | "error" | "hang";

export interface Received {
  id: string;
  type: string;
  body: string;
  payload: { type: string; id: string; data: { ticket: { number: number } | null; tenantId: string } & Record<string, unknown> } & Record<string, unknown>;
  /** Which of the secrets verified it (indexes into `secrets` when it arrived). */
  verifiedBy: number[];
  receivedAt: number;
  /** The answer the receiver gave. */
  answered: Behaviour;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  /** Secrets to verify with; a delivery that none verifies is answered 401 and recorded in `rejected`. */
  secrets: string[];
  /** Every request that verified, in arrival order. */
  received: Received[];
  /** Ids applied (acknowledged with a 2xx, first time only), in order. */
  applied: string[];
  /** Ids that arrived again after they were applied. */
  duplicates: string[];
  rejected: { reason: string; headers: Record<string, string> }[];
  behaviour: (request: number, id: string) => Behaviour;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const read = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });

export async function startWebhookReceiver(options: { secrets?: string[]; port?: number } = {}): Promise<WebhookReceiver> {
  let requests = 0;
  let server: Server | undefined;
  const hanging = new Set<IncomingMessage>();
  const receiver: WebhookReceiver = {
    url: "",
    port: options.port ?? 0,
    secrets: options.secrets ?? [],
    received: [],
    applied: [],
    duplicates: [],
    rejected: [],
    behaviour: () => "ok",
    down: async () => {
      const s = server;
      server = undefined;
      if (!s) return;
      for (const req of hanging) req.socket.destroy();
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    up: () => listen(),
    close: () => receiver.down(),
  };
  const applied = new Set<string>();

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer(async (req, res) => {
        const body = await read(req);
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        const verifiedBy = receiver.secrets.flatMap((secret, i) => {
          try {
            new Webhook(secret).verify(body, headers);
            return [i];
          } catch {
            return [];
          }
        });
        if (verifiedBy.length === 0) {
          receiver.rejected.push({ reason: "no secret verifies the signature", headers });
          return void res.writeHead(401).end();
        }
        const payload = JSON.parse(body) as Received["payload"];
        const answered = receiver.behaviour(requests++, payload.id);
        receiver.received.push({ id: headers["webhook-id"]!, type: payload.type, body, payload, verifiedBy, receivedAt: Date.now(), answered });
        if (answered === "hang") {
          hanging.add(req);
          req.socket.on("close", () => hanging.delete(req));
          return;
        }
        if (answered === "error") return void res.writeHead(500, { "content-type": "text/plain" }).end("receiver failure");
        if (applied.has(payload.id)) receiver.duplicates.push(payload.id);
        else {
          applied.add(payload.id);
          receiver.applied.push(payload.id);
        }
        res.writeHead(204).end();
      });
      s.once("error", reject);
      s.listen(receiver.port, "127.0.0.1", () => {
        receiver.port = (s.address() as AddressInfo).port;
        receiver.url = `http://127.0.0.1:${receiver.port}/hooks`;
        server = s;
        resolve();
      });
    });
  await listen();
  return receiver;
}
