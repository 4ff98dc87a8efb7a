// Reads a JSON body for a route: content type, size limit, JSON syntax, then the route's schema.
// Every refusal is a 4xx with {error: {code, message}}; nothing is enqueued.
import type { Context } from "hono";
import type { z } from "zod";
import { errorResponse } from "../http-error.ts";

export type BodyResult<T> = { ok: true; data: T; text: string } | { ok: false; response: Response };

export async function readJson<S extends z.ZodType>(c: Context, schema: S, maxBytes: number): Promise<BodyResult<z.infer<S>>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) {
    return { ok: false, response: errorResponse(c, 415, "unsupported_media_type", "expected Content-Type: application/json") };
  }
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > maxBytes) return { ok: false, response: tooLarge(c, maxBytes) };
  const bytes = await c.req.arrayBuffer();
  if (bytes.byteLength > maxBytes) return { ok: false, response: tooLarge(c, maxBytes) };
  const text = new TextDecoder().decode(bytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, response: errorResponse(c, 400, "invalid_json", "the body is not valid JSON") };
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "body";
    return { ok: false, response: errorResponse(c, 400, "invalid_body", `${where}: ${issue?.message ?? "invalid"}`) };
  }
  return { ok: true, data: parsed.data, text };
}

function tooLarge(c: Context, maxBytes: number): Response {
  return errorResponse(c, 413, "payload_too_large", `the body exceeds ${maxBytes} bytes`);
}
