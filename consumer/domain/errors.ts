// Errors that cross module boundaries carry a stable `code` and say whether retrying can help.
// The claim loop turns them into outcomes: permanent → skip or dead-letter at once with the
// code as reason; retryable → fail (retry with backoff, then dead-letter).

export type ErrorDisposition = "retry" | "skip" | "dead_letter";

export class InletError extends Error {
  readonly code: string;
  readonly disposition: ErrorDisposition;
  /** A provider's Retry-After, when it gave one. */
  readonly retryAfterMs: number | undefined;
  /** The provider refused the mailbox's grant itself (revoked refresh token, consent withdrawn,
   * refused login): nothing works until the mailbox is connected again. */
  readonly authorisationLost: boolean;

  constructor(code: string, message: string, options: { disposition: ErrorDisposition; retryAfterMs?: number; cause?: unknown; authorisationLost?: boolean }) {
    super(message, { cause: options.cause });
    this.name = "InletError";
    this.code = code;
    this.disposition = options.disposition;
    this.retryAfterMs = options.retryAfterMs;
    this.authorisationLost = options.authorisationLost ?? false;
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

/** The provider refused the mailbox's grant: permanent for the job at hand; the job handler marks
 * the mailbox as needing re-authorisation (consumer/runtime/job-handler.ts). */
export const authorisationLost = (code: string, message: string, extra: { cause?: unknown } = {}) =>
  new InletError(code, message, { disposition: "dead_letter", authorisationLost: true, ...extra });

export const isAuthorisationLost = (error: unknown): error is InletError => error instanceof InletError && error.authorisationLost;
