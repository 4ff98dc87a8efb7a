// Where webhooks may go, and how an attempt treats what answers: https only (http for loopback
// with INLET_ALLOW_INSECURE_WEBHOOKS=1), private, link-local and loopback addresses refused
// unless allowed, redirects not followed, a large answer not read to its end, a timeout.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { postWebhook } from "../../../consumer/delivery/sender.ts";
import { addressClass, checkUrlShape, resolveChecked, UrlRefused } from "../../../consumer/delivery/url-policy.ts";

const strict = { allowInsecureLoopback: false, allowPrivateAddresses: false };
const local = { allowInsecureLoopback: true, allowPrivateAddresses: false };

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    return error instanceof UrlRefused ? error.code : `not a refusal: ${String(error)}`;
  }
  return "accepted";
};

describe("endpoint URLs", () => {
  it("https is required; http only for loopback hosts and only when insecure webhooks are allowed", () => {
    expect(refusal(() => checkUrlShape("https://hooks.example.com/inlet", strict))).toBe("accepted");
    expect(refusal(() => checkUrlShape("http://hooks.example.com/inlet", strict))).toBe("webhook_url_insecure");
    expect(refusal(() => checkUrlShape("http://hooks.example.com/inlet", local))).toBe("webhook_url_insecure");
    expect(refusal(() => checkUrlShape("http://127.0.0.1:9000/hook", strict))).toBe("webhook_url_insecure");
    expect(refusal(() => checkUrlShape("http://127.0.0.1:9000/hook", local))).toBe("accepted");
    expect(refusal(() => checkUrlShape("http://localhost:9000/hook", local))).toBe("accepted");
    expect(refusal(() => checkUrlShape("ftp://hooks.example.com/", local))).toBe("webhook_url_invalid");
    expect(refusal(() => checkUrlShape("not a url", local))).toBe("webhook_url_invalid");
    expect(refusal(() => checkUrlShape("https://user:pw@hooks.example.com/", local))).toBe("webhook_url_credentials");
  });

  it("literal private, link-local, loopback and mapped addresses are refused unless allowed", () => {
    for (const host of ["10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "[fd00::1]", "[fe80::1]", "[::ffff:10.0.0.1]"]) {
      expect(refusal(() => checkUrlShape(`https://${host}/hook`, local)), host).toBe("webhook_address_refused");
      expect(refusal(() => checkUrlShape(`https://${host}/hook`, { ...strict, allowPrivateAddresses: true })), host).toBe("accepted");
    }
    expect(refusal(() => checkUrlShape("https://127.0.0.1/hook", strict))).toBe("webhook_address_refused");
    expect(refusal(() => checkUrlShape("https://[::1]/hook", local))).toBe("accepted");
    expect(addressClass("8.8.8.8")).toBe("public");
    expect(addressClass("2606:4700::1111")).toBe("public");
  });

  it("a name is resolved and each of its addresses checked", async () => {
    await expect(resolveChecked(new URL("https://localhost/hook"), strict)).rejects.toMatchObject({ code: "webhook_address_refused" });
    await expect(resolveChecked(new URL("https://localhost/hook"), local)).resolves.toMatchObject({ address: expect.stringMatching(/^(127\.0\.0\.1|::1)$/) });
    await expect(resolveChecked(new URL("https://no-such-host.invalid/hook"), strict)).rejects.toMatchObject({ code: "webhook_dns_failed" });
  });
});

describe("an attempt", () => {
  let server: Server | undefined;
  let hits: string[] = [];
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
    hits = [];
  });
  async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
    server = createServer((req, res) => (hits.push(req.url ?? ""), handler!(req, res)));
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  const send = (url: string, o: Partial<{ timeoutMs: number; maxResponseBytes: number }> = {}) => postWebhook(url, "{}", { "webhook-id": "evt_x" }, { policy: local, timeoutMs: 2_000, maxResponseBytes: 1024, ...o });

  it("a redirect is an answer that is not 2xx, and its Location is not fetched", async () => {
    const base = await serve((req, res) => (req.url === "/hook" ? res.writeHead(307, { location: "/elsewhere" }).end() : res.writeHead(204).end()));
    expect(await send(`${base}/hook`)).toMatchObject({ ok: false, status: 307, error: "http_307" });
    expect(hits).toEqual(["/hook"]);
  });

  it("an endless answer is read only up to the limit", async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      const chunk = Buffer.alloc(64 * 1024, 120);
      const pump = () => {
        while (res.write(chunk));
        res.once("drain", pump);
      };
      pump();
    });
    expect(await send(`${base}/hook`, { maxResponseBytes: 4096, timeoutMs: 5_000 })).toMatchObject({ ok: true, status: 200 });
  });

  it("no answer within the timeout fails the attempt; a refused connection too", async () => {
    const base = await serve(() => undefined);
    expect(await send(`${base}/hook`, { timeoutMs: 300 })).toMatchObject({ ok: false, status: null, error: expect.stringMatching(/^timeout/) });
    server!.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    expect(await send(`${base}/hook`)).toMatchObject({ ok: false, status: null, error: "network: ECONNREFUSED" });
  });

  it("a refused address is not connected to", async () => {
    const result = await postWebhook("https://169.254.169.254/latest/meta-data", "{}", {}, { policy: strict, timeoutMs: 1_000, maxResponseBytes: 1024 });
    expect(result).toMatchObject({ ok: false, status: null, error: expect.stringContaining("webhook_address_refused") });
  });
});
