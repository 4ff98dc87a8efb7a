// Errors that cross module boundaries carry a stable `code` and say whether retrying can help.
// The claim loop turns them into outcomes: permanent → skip or dead-letter at once with the
// code as reason; retryable → fail (retry with backoff, then dead-letter).

export type ErrorDisposition = "retry" | "skip" | "dead_letter";

export class InletError extends Error {
  readonly code: string;
  readonly disposition: ErrorDisposition;
  /** A provider's Retry-After, when it gave one. */
  readonly retryAfterMs: number | undefined;

  constructor(code: string, message: string, options: { disposition: ErrorDisposition; retryAfterMs?: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = "InletError";
    this.code = code;
    this.disposition = options.disposition;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export const retryable = (code: string, message: string, extra: { retryAfterMs?: number; cause?: unknown } = {}) =>
  new InletError(code, message, { disposition: "retry", ...extra });

/** The source no longer has the message (or never will): ack with a deterministic reason. */
export const sourceUnavailable = (code: string, message: string) =>
  new InletError(`source_unavailable:${code}`, message, { disposition: "skip" });

/** Retrying cannot help (revoked credentials, malformed pointer): dead-letter at once. */
export const permanent = (code: string, message: string, extra: { cause?: unknown } = {}) =>
  new InletError(code, message, { disposition: "dead_letter", ...extra });
