// The read API over a real HTTP server: a tenant's token reads that tenant's tickets, documents
// and events and nothing of another tenant's; pages follow their cursors to the end; a document
// downloads byte for byte with a safe Content-Disposition; refusals are {error: {code, message}}.
import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createHttpApp } from "../../../consumer/http/app.ts";
import { contentDisposition, safeContentType } from "../../../consumer/http/read-api.ts";
import { startHttpServer, type HttpServer } from "../../../consumer/http/server.ts";
import { createProcessor } from "../../../consumer/processing/processor.ts";
import { createApiToken } from "../../../consumer/read-api/tokens.ts";
import { Mailboxes } from "../../../consumer/store/mailboxes.ts";
import { freePort } from "../../../dev/free-port.ts";
import { backends, testDatabase, type TestDatabase } from "../../support/database.ts";
import { testDeliveryConfig } from "../../support/delivery.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { buildMail } from "../../support/mail.ts";

const ADMIN = "the-admin-token-of-this-test";

it("Content-Disposition: quotes, backslashes, paths and control characters never reach the ASCII name", async () => {
  expect(contentDisposition('a"b\\c\r\nd.txt')).toBe(`attachment; filename="c__d.txt"; filename*=UTF-8''c%0D%0Ad.txt`);
  expect(contentDisposition("../../etc/passwd")).toBe(`attachment; filename="passwd"; filename*=UTF-8''passwd`);
  expect(safeContentType("text/html; charset=utf-8")).toBe("text/html; charset=utf-8");
  expect(safeContentType("text/html\r\nX-Evil: 1")).toBe("application/octet-stream");
});

describe.each(backends)("read API on %s", (backend) => {
  let t: TestDatabase;
  let server: HttpServer;
  afterEach(async () => {
    await server?.close();
    await t.drop();
  });

  async function setup() {
    t = await testDatabase(backend);
    const mailboxes = new Mailboxes(t.db);
    const credentials = { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" } as const;
    const acmeBox = await mailboxes.add({ tenantId: "acme", kind: "imap", address: "support@acme.example", credentials });
    const globexBox = await mailboxes.add({ tenantId: "globex", kind: "imap", address: "help@globex.example", credentials });
    const processor = createProcessor({ db: t.db });
    let n = 0;
    const mail = (tenantId: string, providerId: string, raw: Uint8Array) => processor.process({ provider: "imap", tenantId, providerId, providerMessageId: `1:${++n}`, raw });
    const render = { publicUrl: "http://inlet.test", inlineMaxBytes: 0 };
    const app = createHttpApp({ readiness: [], log: captureLogs().log, delivery: { admin: { db: t.db, secrets: undefined, delivery: testDeliveryConfig() }, adminToken: ADMIN, render } });
    server = await startHttpServer(app, { port: await freePort(), host: "127.0.0.1" });
    const acme = (await createApiToken(t.db, "acme")).token;
    const globex = (await createApiToken(t.db, "globex")).token;
    const get = (path: string, token?: string) => fetch(`${server.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    return { mail, acmeBox, globexBox, acme, globex, get };
  }

  it("tickets page by cursor to the end, filter by status and since, and never show another tenant's", async () => {
    const { mail, acmeBox, globexBox, acme, globex, get } = await setup();
    for (let i = 1; i <= 5; i++) await mail("acme", acmeBox, buildMail({ id: `a${i}@example.org`, subject: `Acme ${i}` }));
    for (let i = 1; i <= 2; i++) await mail("globex", globexBox, buildMail({ id: `g${i}@example.org`, subject: `Globex ${i}` }));
    await t.db.query("UPDATE tickets SET status = 'closed' WHERE tenant_id = 'acme' AND number = 2");

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await get(`/v1/tickets?limit=2${cursor ? `&cursor=${cursor}` : ""}`, acme);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { data: { subject: string }[]; nextCursor: string | null };
      seen.push(...body.data.map((d) => d.subject));
      cursor = body.nextCursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual(["Acme 1", "Acme 2", "Acme 3", "Acme 4", "Acme 5"]);
    expect(pages).toBe(3);

    const closed = (await (await get("/v1/tickets?status=closed", acme)).json()) as { data: { number: number }[] };
    expect(closed.data.map((d) => d.number)).toEqual([2]);
    const future = (await (await get(`/v1/tickets?since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`, acme)).json()) as { data: unknown[] };
    expect(future.data).toEqual([]);

    const theirs = (await (await get("/v1/tickets", globex)).json()) as { data: { subject: string }[] };
    expect(theirs.data.map((d) => d.subject)).toEqual(["Globex 1", "Globex 2"]);
    // Ticket #1 exists in both tenants: each token reads its own.
    expect(((await (await get("/v1/tickets/1", globex)).json()) as { subject: string }).subject).toBe("Globex 1");
    const missing = await get("/v1/tickets/5", globex);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: "ticket_not_found", message: "no ticket #5" } });
  });

  it("a ticket with its reply; its document downloads byte for byte, only with its tenant's token", async () => {
    const { mail, acmeBox, acme, globex, get } = await setup();
    const bytes = new Uint8Array(randomBytes(700_000)); // more than two of the 256 KiB chunks
    const filename = "résumé; final (v2).pdf";
    await mail("acme", acmeBox, buildMail({ id: "d1@example.org", subject: "Contract", attachment: { filename, contentType: "application/pdf", bytes } }));
    await mail("acme", acmeBox, buildMail({ id: "d2@example.org", subject: "Re: Contract", inReplyTo: "d1@example.org", body: "Signed." }));
    const ticket = (await (await get("/v1/tickets/1", acme)).json()) as { comments: { internal: boolean; replyText: string }[]; documents: { id: string; size: number; sha256: string }[] };
    expect(ticket.comments).toEqual([expect.objectContaining({ internal: false, replyText: "Signed." })]);
    const [document] = ticket.documents;
    expect(document).toMatchObject({ size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") });

    const download = await get(`/v1/documents/${document!.id}`, acme);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("application/pdf");
    expect(download.headers.get("x-content-type-options")).toBe("nosniff");
    expect(download.headers.get("content-disposition")).toBe("attachment; filename=\"r_sum__ final (v2).pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%3B%20final%20%28v2%29.pdf");
    expect(Buffer.from(await download.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);

    const other = await get(`/v1/documents/${document!.id}`, globex);
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe("document_not_found");
  });

  it("the event feed pages through the tenant's events in order and has none of another tenant's", async () => {
    const { mail, acmeBox, globexBox, acme, get } = await setup();
    await mail("acme", acmeBox, buildMail({ id: "e1@example.org", subject: "First" }));
    await mail("globex", globexBox, buildMail({ id: "x1@example.org", subject: "Not yours" }));
    await mail("acme", acmeBox, buildMail({ id: "e2@example.org", subject: "Re: First", inReplyTo: "e1@example.org" }));
    await mail("acme", acmeBox, buildMail({ id: "e3@example.org", subject: "Second" }));
    const types: string[] = [];
    const subjects: string[] = [];
    let after: string | null = null;
    for (;;) {
      const body = (await (await get(`/v1/events?limit=2${after ? `&after=${after}` : ""}`, acme)).json()) as { data: { type: string; data: { tenantId: string; message: { subject: string } } }[]; nextCursor: string | null; more: boolean };
      types.push(...body.data.map((e) => e.type));
      subjects.push(...body.data.map((e) => e.data.message.subject));
      expect(body.data.every((e) => e.data.tenantId === "acme")).toBe(true);
      after = body.nextCursor;
      if (!body.more) break;
    }
    expect(types).toEqual(["ticket.created", "ticket.replied", "ticket.created"]);
    expect(subjects).toEqual(["First", "Re: First", "Second"]);
    // The last cursor, asked again, gives only what came since.
    await mail("acme", acmeBox, buildMail({ id: "e4@example.org", subject: "Third" }));
    const since = (await (await get(`/v1/events?after=${after}`, acme)).json()) as { data: { data: { message: { subject: string } } }[] };
    expect(since.data.map((e) => e.data.message.subject)).toEqual(["Third"]);
  });

  it("refusals: no token 401, an unknown token 401, the admin token 403, a bad parameter 400; the OpenAPI document is public", async () => {
    const { acme, get } = await setup();
    const none = await get("/v1/tickets");
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    expect((await get("/v1/tickets", `inlet_${"A".repeat(43)}`)).status).toBe(401);
    const admin = await get("/v1/tickets", ADMIN);
    expect(admin.status).toBe(403);
    expect(((await admin.json()) as { error: { code: string } }).error.code).toBe("forbidden");
    expect((await get("/v1/tickets?status=burning", acme)).status).toBe(400);
    expect((await get("/v1/tickets/abc", acme)).status).toBe(400);
    expect((await get("/v1/events?after=nonsense", acme)).status).toBe(400);
    const openapi = await get("/v1/openapi.json");
    expect(openapi.status).toBe(200);
    expect(((await openapi.json()) as { openapi: string; paths: Record<string, unknown> }).paths).toHaveProperty("/v1/events");
  });
});
