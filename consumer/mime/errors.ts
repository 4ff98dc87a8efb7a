// Errors of mail understanding. Each carries a stable `code` that logs, the CLI and processing can
// branch on; the message says what was wrong in words.
//   message_unparseable        the MIME parser gave up on the bytes (nesting or header limits, not mail)
//   unknown_fallback_charset   INLET_MAIL_FALLBACK_CHARSET names no charset this runtime can decode

export type MimeErrorCode = "message_unparseable" | "unknown_fallback_charset";

export class MimeError extends Error {
  readonly code: MimeErrorCode;

  constructor(code: MimeErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "MimeError";
    this.code = code;
  }
}
