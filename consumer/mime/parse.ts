// The consumer's own view of one message: postal-mime's parse, with the headers kept (threading
// and classification need them), Message-IDs normalised, the author found robustly, the text read
// from HTML when that is all there is, and attachments named and typed.
//
// Before postal-mime sees the bytes, header lines that are not UTF-8 are decoded with the fallback
// charset and UTF-7 encoded words rewritten (header-bytes.ts). After it, the parts that carry
// reports (delivery status, feedback, read receipts) are located, so a report inside a forwarded
// message is not mistaken for one of this message (structure.ts).
import { Buffer } from "node:buffer";
import PostalMime, { decodeWords, type Email } from "postal-mime";
import { authorOf, parseAddressList, type AuthorSource, type Mailbox } from "./address.ts";
import { MimeError } from "./errors.ts";
import { fallbackNamer } from "./filenames.ts";
import { needsHeaderRepair, repairHeaderBytes } from "./header-bytes.ts";
import { htmlToText } from "./html-text.ts";
import { DEFAULT_FALLBACK_CHARSET } from "./options.ts";
import { scanStructure, type MimePart } from "./structure.ts";

export interface ParsedAttachment {
  filename: string;
  contentType: string;
  size: number;
  inline: boolean;
  contentId: string | undefined;
  content: Uint8Array;
}

/** A machine-readable report part of this message itself (not of a message it carries). */
export interface ReportPart {
  /** message/delivery-status (RFC 3464), message/global-delivery-status (RFC 6533),
   * message/feedback-report (RFC 5965), message/disposition-notification (RFC 8098). */
  contentType: string;
  /** Its decoded text, at most REPORT_TEXT_LIMIT characters. */
  text: string;
}

export interface ParsedMessage {
  messageId: string | undefined;
  inReplyTo: string | undefined;
  references: string[];
  subject: string;
  /** The author: From, else Sender, else Reply-To (see `fromSource`); undefined when none is usable. */
  from: Mailbox | undefined;
  /** Which header `from` came from; anything but "from" means From was missing or unusable (`<>`). */
  fromSource: AuthorSource | undefined;
  to: string[];
  cc: string[];
  date: string | undefined;
  /** Lower-cased header names → every value, in order (values as sent, encoded words undecoded). */
  headers: Map<string, string[]>;
  /** The top-level Content-Type, lower-cased, without parameters, and its report-type if any. */
  contentType: string;
  reportType: string | undefined;
  /** Report parts of this message; empty for ordinary mail. */
  reports: ReportPart[];
  text: string;
  /** Where `text` came from: the message's text/plain, its HTML (no or a blank plain part), or neither. */
  textSource: "plain" | "html" | "none";
  html: string | undefined;
  attachments: ParsedAttachment[];
}

export interface ParseOptions {
  /** Charset for header bytes that are not UTF-8 (default windows-1252). */
  fallbackCharset?: string;
}

export const REPORT_CONTENT_TYPES: ReadonlySet<string> = new Set([
  "message/delivery-status",
  "message/global-delivery-status",
  "message/feedback-report",
  "message/disposition-notification",
  "message/global-disposition-notification",
]);

// Reports are a few hundred bytes; one that is megabytes long is not read whole for classification.
const REPORT_TEXT_LIMIT = 64 * 1024;

const ID = /<([^<>\s]+)>/g;

/** `<a@b>` → `a@b`; undefined when there is no sane id (no @, whitespace, absurdly long). */
export function normaliseMessageId(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const inner = /<([^<>]+)>/.exec(value)?.[1] ?? value.trim();
  if (!inner.includes("@") || /\s/.test(inner) || inner.length > 998) return undefined;
  return inner;
}

function ids(value: string | undefined): string[] {
  if (!value) return [];
  return [...value.matchAll(ID)].map((m) => normaliseMessageId(m[0])).filter((id): id is string => !!id);
}

function bytes(content: ArrayBuffer | Uint8Array | string): Uint8Array {
  if (typeof content === "string") return new TextEncoder().encode(content);
  return content instanceof Uint8Array ? content : new Uint8Array(content);
}

const utf8 = new TextDecoder();

function partText(raw: Uint8Array, part: MimePart): string {
  const body = raw.subarray(part.bodyStart, Math.max(part.bodyStart, part.bodyEnd));
  const head = body.subarray(0, REPORT_TEXT_LIMIT * 2);
  const asAscii = () => Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString("latin1");
  let decoded: Uint8Array = head;
  if (part.transferEncoding === "base64") decoded = Buffer.from(asAscii(), "base64");
  else if (part.transferEncoding === "quoted-printable") {
    decoded = Buffer.from(asAscii().replace(/=\r?\n/g, "").replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), "latin1");
  }
  return utf8.decode(decoded).slice(0, REPORT_TEXT_LIMIT);
}

export async function parseMessage(input: Uint8Array, options: ParseOptions = {}): Promise<ParsedMessage> {
  let parts: MimePart[] | undefined;
  const structure = (raw: Uint8Array) => (parts ??= scanStructure(raw));
  const raw = needsHeaderRepair(input) ? repairHeaderBytes(input, options.fallbackCharset ?? DEFAULT_FALLBACK_CHARSET, structure(input)) : input;
  // Offsets found on the input no longer hold if the repair rewrote it.
  if (raw !== input) parts = undefined;

  let email: Email;
  try {
    email = await PostalMime.parse(raw, { attachmentEncoding: "arraybuffer" });
  } catch (cause) {
    throw new MimeError("message_unparseable", `the MIME parser gave up: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }

  const headers = new Map<string, string[]>();
  for (const h of email.headers) headers.set(h.key, [...(headers.get(h.key) ?? []), h.value]);
  const contentTypeHeader = headers.get("content-type")?.[0] ?? "text/plain";
  const contentType = contentTypeHeader.split(";")[0]!.trim().toLowerCase();
  const author = authorOf(headers);

  const needsParts = contentType === "multipart/report" || email.attachments.some((a) => REPORT_CONTENT_TYPES.has(a.mimeType.toLowerCase()));
  const reports = needsParts
    ? structure(raw)
        .filter((p) => !p.embedded && REPORT_CONTENT_TYPES.has(p.contentType))
        .map((p) => ({ contentType: p.contentType, text: partText(raw, p) }))
    : [];

  const { text, textSource } = readText(email, contentType, () => structure(raw));
  const nameOf = fallbackNamer();

  return {
    messageId: normaliseMessageId(email.messageId),
    inReplyTo: ids(email.inReplyTo)[0],
    references: ids(email.references),
    subject: email.subject ?? "",
    from: author?.from,
    fromSource: author?.source,
    to: parseAddressList(headers.get("to")?.join(", ")).map((m) => m.address),
    cc: parseAddressList(headers.get("cc")?.join(", ")).map((m) => m.address),
    date: email.date,
    headers,
    contentType,
    reportType: /report-type\s*=\s*"?([\w-]+)/i.exec(contentTypeHeader)?.[1]?.toLowerCase(),
    reports,
    text,
    textSource,
    html: email.html,
    attachments: email.attachments.map((a, i) => {
      const content = bytes(a.content);
      const type = a.mimeType.toLowerCase();
      const filename = a.filename?.trim() ? a.filename : nameOf(type, i);
      return {
        filename,
        contentType: type,
        size: content.byteLength,
        inline: a.disposition === "inline" || (!!a.related && !!a.contentId),
        contentId: a.contentId ? a.contentId.replace(/^<|>$/g, "") : undefined,
        content,
      };
    }),
  };
}

/**
 * The message's text: its own text/plain when that has content; otherwise its HTML as text.
 * postal-mime fills `text` from HTML by itself when there is no plain part, with a converter that
 * leaves entities and tables raw, so whether the message has a plain part of its own is checked.
 */
function readText(email: Email, contentType: string, structure: () => MimePart[]): { text: string; textSource: ParsedMessage["textSource"] } {
  const plain = email.text ?? "";
  if (!email.html) return { text: plain, textSource: plain ? "plain" : "none" };
  const ownPlain = contentType === "text/plain" || (contentType.startsWith("multipart/") && structure().some((p) => !p.embedded && p.contentType === "text/plain" && p.disposition !== "attachment"));
  if (ownPlain && plain.trim() !== "") return { text: plain, textSource: "plain" };
  const fromHtml = htmlToText(email.html);
  if (fromHtml !== "") return { text: fromHtml, textSource: "html" };
  return { text: plain, textSource: plain.trim() ? "plain" : "none" };
}

export function header(message: ParsedMessage, name: string): string | undefined {
  return message.headers.get(name.toLowerCase())?.[0];
}

/** A header value with its encoded words decoded (for display and subject-like matching). */
export function decodedHeader(message: ParsedMessage, name: string): string | undefined {
  const value = header(message, name);
  return value === undefined ? undefined : decodeWords(value);
}
