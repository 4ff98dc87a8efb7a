// One error path: a route or middleware refuses with `refuse(status, code, message)` (it throws
// an IngressError) and the app's onError answers every failure as {error: {code, message}}.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export class IngressError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  constructor(status: ContentfulStatusCode, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function refuse(status: ContentfulStatusCode, code: string, message: string): never {
  throw new IngressError(status, code, message);
}

export function errorResponse(c: Context, status: ContentfulStatusCode, code: string, message: string): Response {
  return c.json({ error: { code, message } }, status);
}

/** One JSON log line; ids and counts only, never email content or secrets. */
export function logLine(fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ service: "inlet-ingress", time: new Date().toISOString(), ...fields }));
}
