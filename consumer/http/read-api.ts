// The read API under /v1 (OpenAPI at /v1/openapi.json): a tenant's tickets, documents and events,
// with a bearer token of that tenant (consumer/read-api/tokens.ts). Each route: verify → parse →
// read within the token's tenant → answer; refusals are {error: {code, message}}: 401 without a
// token or with an unknown one, 403 for the admin token (it reads no tenant's data), 400 for bad
// parameters, 404 for what the tenant does not have (another tenant's ticket or document reads
// as absent).
import { Hono, type Context } from "hono";
import { stream } from "hono/streaming";
import { z } from "zod";
import type { Queryable } from "../store/db.ts";
import type { RenderOptions } from "../delivery/payload.ts";
import { openApiDocument } from "../read-api/openapi.ts";
import { documentChunk, documentMeta, getTicket, listEvents, listTickets, type FeedCursor } from "../read-api/queries.ts";
import { tenantOfToken } from "../read-api/tokens.ts";
import { sameSecret } from "./admin.ts";

export interface ReadApiOptions {
  db: Queryable;
  render: RenderOptions;
  adminToken: string | undefined;
}

type Env = { Variables: { tenantId: string } };

const CHUNK_BYTES = 256 * 1024;
const refuse = (c: Context, status: 400 | 401 | 403 | 404, code: string, message: string) => c.json({ error: { code, message } }, status);

const limit = z.coerce.number().int().min(1).max(200).default(50);
const ticketsQuery = z.strictObject({
  since: z.iso.datetime({ offset: true }).optional(),
  status: z.enum(["open", "pending", "closed"]).optional(),
  cursor: z.string().regex(/^\d{1,15}$/).optional(),
  limit,
});
const eventsQuery = z.strictObject({ after: z.string().regex(/^\d{1,20}\.\d{1,19}$/).optional(), limit });
const positiveId = z.string().regex(/^[1-9]\d{0,14}$/).transform(Number);

export function readApiRoutes(o: ReadApiOptions): Hono<Env> {
  const app = new Hono<Env>();
  app.get("/v1/openapi.json", (c) => c.json(openApiDocument()));
  app.use("/v1/*", async (c, next) => {
    const token = /^Bearer (\S+)$/.exec(c.req.header("authorization") ?? "")?.[1];
    if (!token) return refuse(c, 401, "unauthorized", "Authorization: Bearer <API token> is required (`inlet api-tokens create --tenant T`)");
    const tenantId = await tenantOfToken(o.db, token);
    if (!tenantId) {
      if (o.adminToken && sameSecret(token, o.adminToken)) return refuse(c, 403, "forbidden", "the admin token reads no tenant's data: use an API token of the tenant");
      return refuse(c, 401, "invalid_token", "the token is not a valid API token");
    }
    c.set("tenantId", tenantId);
    await next();
  });

  app.get("/v1/tickets", async (c) => {
    const q = ticketsQuery.safeParse(c.req.query());
    if (!q.success) return refuse(c, 400, "invalid_query", z.prettifyError(q.error));
    const { tickets, last, more } = await listTickets(o.db, c.get("tenantId"), { ...(q.data.since ? { since: new Date(q.data.since) } : {}), ...(q.data.status ? { status: q.data.status } : {}), afterNumber: Number(q.data.cursor ?? 0), limit: q.data.limit });
    return c.json({ data: tickets, nextCursor: more && last !== undefined ? String(last) : null });
  });

  app.get("/v1/tickets/:number", async (c) => {
    const number = positiveId.safeParse(c.req.param("number"));
    if (!number.success) return refuse(c, 400, "invalid_ticket_number", "a ticket number is a positive integer");
    const ticket = await getTicket(o.db, c.get("tenantId"), number.data);
    return ticket ? c.json(ticket) : refuse(c, 404, "ticket_not_found", `no ticket #${number.data}`);
  });

  app.get("/v1/documents/:id", async (c) => {
    const id = positiveId.safeParse(c.req.param("id"));
    if (!id.success) return refuse(c, 400, "invalid_document_id", "a document id is a positive integer");
    const tenantId = c.get("tenantId");
    const meta = await documentMeta(o.db, tenantId, id.data);
    if (!meta) return refuse(c, 404, "document_not_found", `no document ${id.data}`);
    c.header("content-type", safeContentType(meta.contentType));
    c.header("content-length", String(meta.size));
    c.header("content-disposition", contentDisposition(meta.filename));
    c.header("x-content-type-options", "nosniff");
    c.header("content-security-policy", "sandbox; default-src 'none'");
    c.header("digest", `sha-256=${Buffer.from(meta.sha256, "hex").toString("base64")}`);
    return stream(c, async (out) => {
      for (let offset = 0; offset < meta.size; offset += CHUNK_BYTES) {
        if (out.aborted) return;
        await out.write(await documentChunk(o.db, tenantId, id.data, offset, Math.min(CHUNK_BYTES, meta.size - offset)));
      }
    });
  });

  app.get("/v1/events", async (c) => {
    const q = eventsQuery.safeParse(c.req.query());
    if (!q.success) return refuse(c, 400, "invalid_query", z.prettifyError(q.error));
    const after: FeedCursor | undefined = q.data.after ? { txid: q.data.after.split(".")[0]!, seq: Number(q.data.after.split(".")[1]) } : undefined;
    const { events, last, more } = await listEvents(o.db, c.get("tenantId"), after, q.data.limit, o.render);
    // The cursor is given even on the last page: the next call with it returns what came since.
    return c.json({ data: events, nextCursor: last ? `${last.txid}.${last.seq}` : (q.data.after ?? null), more });
  });
  return app;
}

/** A stored type when it is a plain type/subtype (parameters kept only for a charset); anything
 * else is served as bytes. The disposition is attachment either way, with nosniff and a sandbox. */
export function safeContentType(stored: string): string {
  const [type, ...params] = stored.split(";").map((s) => s.trim());
  if (!type || !/^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i.test(type)) return "application/octet-stream";
  const charset = params.find((p) => /^charset=[A-Za-z0-9_.:-]{1,40}$/i.test(p));
  return charset ? `${type.toLowerCase()}; ${charset}` : type.toLowerCase();
}

/** `attachment` with an ASCII fallback name (no quotes, backslashes, control or path characters)
 * and the exact name as RFC 8187 UTF-8. */
export function contentDisposition(filename: string): string {
  const base = filename.replace(/^.*[\\/]/, "") || "document";
  const ascii = base.replace(/[^\x20-\x7e]|["\\;%]/g, "_").slice(0, 150) || "document";
  const encoded = encodeURIComponent(base).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
