// The read API's OpenAPI 3.1 document, served at GET /v1/openapi.json. The event schema is the
// one webhooks carry (payload-schema.ts).
import { eventPayloadJsonSchema } from "../delivery/payload-schema.ts";

const error = { $ref: "#/components/schemas/Error" };
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: { 400: "bad input", 401: "no or unknown token", 403: "not a tenant's API token", 404: "not found (or another tenant's)" }[c], content: { "application/json": { schema: error } } }]));
const page = (item: unknown) => ({ type: "object", required: ["data", "nextCursor"], properties: { data: { type: "array", items: item }, nextCursor: { type: ["string", "null"], description: "pass as `cursor` (tickets) or `after` (events) for the next page; null: no more now" } } });
const person = { type: ["object", "null"], properties: { email: { type: "string" }, name: { type: ["string", "null"] } } };
const ticket = {
  type: "object",
  properties: {
    number: { type: "integer" }, subject: { type: "string" }, status: { enum: ["open", "pending", "closed"] }, requester: person,
    mailboxId: { type: ["string", "null"] }, suspicious: { type: "boolean" }, createdAt: { type: "string", format: "date-time" }, updatedAt: { type: "string", format: "date-time" },
  },
};
const document = { type: "object", properties: { id: { type: "string" }, filename: { type: "string" }, contentType: { type: "string" }, size: { type: "integer" }, sha256: { type: "string" }, inline: { type: "boolean" }, commentId: { type: ["string", "null"] } } };

export function openApiDocument(): Record<string, unknown> {
  const { $id: _id, $schema: _schema, ...event } = eventPayloadJsonSchema();
  return {
    openapi: "3.1.0",
    info: { title: "Inlet read API", version: "1", description: "A tenant's tickets, documents and events. Authorization: Bearer <API token> (`inlet api-tokens create --tenant T`)." },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: { type: "object", required: ["error"], properties: { error: { type: "object", required: ["code", "message"], properties: { code: { type: "string" }, message: { type: "string" } } } } },
        Ticket: ticket,
        TicketDetail: {
          allOf: [{ $ref: "#/components/schemas/Ticket" }, {
            type: "object",
            properties: {
              description: { type: "object", properties: { text: { type: "string" }, replyText: { type: "string" }, html: { type: ["string", "null"] } } },
              comments: { type: "array", items: { type: "object", properties: { id: { type: "string" }, internal: { type: "boolean", description: "an internal note" }, author: person, text: { type: "string" }, replyText: { type: "string" }, html: { type: ["string", "null"] }, suspicious: { type: "boolean" }, createdAt: { type: "string", format: "date-time" } } } },
              documents: { type: "array", items: { $ref: "#/components/schemas/Document" } },
            },
          }],
        },
        Document: document,
        Event: event,
      },
    },
    security: [{ bearer: [] }],
    paths: {
      "/v1/tickets": {
        get: {
          summary: "Tickets by number, in pages",
          parameters: [
            { name: "since", in: "query", schema: { type: "string", format: "date-time" }, description: "only tickets updated at or after" },
            { name: "status", in: "query", schema: { enum: ["open", "pending", "closed"] } },
            { name: "cursor", in: "query", schema: { type: "string" } },
            { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 200, default: 50 } },
          ],
          responses: { 200: { description: "a page", content: { "application/json": { schema: page({ $ref: "#/components/schemas/Ticket" }) } } }, ...errors(400, 401, 403) },
        },
      },
      "/v1/tickets/{number}": {
        get: {
          summary: "One ticket with its comments, internal notes and documents",
          parameters: [{ name: "number", in: "path", required: true, schema: { type: "integer" } }],
          responses: { 200: { description: "the ticket", content: { "application/json": { schema: { $ref: "#/components/schemas/TicketDetail" } } } }, ...errors(400, 401, 403, 404) },
        },
      },
      "/v1/documents/{id}": {
        get: {
          summary: "A document's bytes, streamed, with its content type; always as an attachment",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          responses: { 200: { description: "the bytes", content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } }, ...errors(400, 401, 403, 404) },
        },
      },
      "/v1/events": {
        get: {
          summary: "The tenant's events (as webhooks carry them), oldest first: a pull feed",
          parameters: [
            { name: "after", in: "query", schema: { type: "string" }, description: "the nextCursor of the previous page; absent: from the first event" },
            { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 200, default: 50 } },
          ],
          responses: { 200: { description: "a page", content: { "application/json": { schema: page({ $ref: "#/components/schemas/Event" }) } } }, ...errors(400, 401, 403) },
        },
      },
    },
  };
}
