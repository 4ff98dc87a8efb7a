// Every error answer has the same shape: {error: {code, message}}.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export function errorResponse(c: Context, status: ContentfulStatusCode, code: string, message: string): Response {
  return c.json({ error: { code, message } }, status);
}

/** One JSON log line; ids and counts only, never email content or secrets. */
export function logLine(fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ service: "inlet-ingress", time: new Date().toISOString(), ...fields }));
}
