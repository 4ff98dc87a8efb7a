// Reading a request body within a route's limit, and parsing it as JSON against a schema.
//
// A declared Content-Length over the limit is refused before reading (413); a chunked body is
// counted while it is read and the read stops at the limit: a chunked 50 MB body costs the Worker
// at most `maxBytes` of memory.
// Only identity encoding is taken (a gzip body would be inflated past any limit we checked), and
// only well-formed UTF-8. Every refusal is a 4xx through the one error path; nothing is enqueued.
import type { Context } from "hono";
import type * as z from "zod/mini";
import { refuse } from "../http-error.ts";
import { concatBytes } from "../queue/bytes.ts";

/** The body's bytes, at most `maxBytes` of them, or a refusal (413, 415, 400). */
export async function readBody(c: Context, maxBytes: number): Promise<Uint8Array> {
  const encoding = c.req.header("content-encoding");
  if (encoding !== undefined && encoding.trim().toLowerCase() !== "identity") refuse(415, "unsupported_encoding", "send the body uncompressed (no Content-Encoding)");
  const declared = c.req.header("content-length");
  if (declared !== undefined) {
    if (!/^\s*\d{1,16}\s*$/.test(declared)) refuse(400, "invalid_content_length", "Content-Length is not a number");
    if (Number(declared) > maxBytes) tooLarge(maxBytes);
  }
  // A body framed by its Content-Length is at most that long (workerd and Cloudflare's edge drop
  // Content-Length from a chunked request and show Transfer-Encoding instead), so it is read in
  // one native step; any other body is counted chunk by chunk and abandoned at the limit.
  if (declared !== undefined && c.req.header("transfer-encoding") === undefined) {
    let whole: ArrayBuffer;
    try {
      whole = await c.req.raw.arrayBuffer();
    } catch {
      refuse(400, "incomplete_body", "the body ended before its declared length");
    }
    if (whole.byteLength > maxBytes) tooLarge(maxBytes);
    return new Uint8Array(whole);
  }
  const stream = c.req.raw.body;
  if (!stream) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch {
      refuse(400, "incomplete_body", "the body ended before its declared length, or its chunked encoding is broken");
    }
    const { done, value } = next;
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return concatBytes(chunks, total);
}

/** 415 unless the request says it carries JSON. */
export function requireJson(c: Context): void {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) refuse(415, "unsupported_media_type", "expected Content-Type: application/json");
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Bytes → text → JSON → the schema's output, or a 400 naming the first problem. */
export function parseJson<S extends z.ZodMiniType>(bytes: Uint8Array, schema: S): z.output<S> {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    refuse(400, "invalid_utf8", "the body is not valid UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    refuse(400, "invalid_json", "the body is not valid JSON");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "body";
    refuse(400, "invalid_body", `${where}: ${issue?.code ?? "invalid"}`);
  }
  return parsed.data;
}

/** Content type, size limit, UTF-8, JSON and the route's schema, in that order. */
export async function readJson<S extends z.ZodMiniType>(c: Context, schema: S, maxBytes: number): Promise<z.output<S>> {
  requireJson(c);
  return parseJson(await readBody(c, maxBytes), schema);
}

function tooLarge(maxBytes: number): never {
  refuse(413, "payload_too_large", `the body exceeds ${maxBytes} bytes`);
}
