// The consumer's own view of one message: postal-mime's parse, with the headers kept (threading
// and auto-reply detection need them), Message-IDs normalised, and attachments typed.
import PostalMime, { type Address, type Email } from "postal-mime";

export interface ParsedAttachment {
  filename: string;
  contentType: string;
  size: number;
  inline: boolean;
  contentId: string | undefined;
  content: Uint8Array;
}

export interface ParsedMessage {
  messageId: string | undefined;
  inReplyTo: string | undefined;
  references: string[];
  subject: string;
  from: { address: string; name: string } | undefined;
  to: string[];
  cc: string[];
  date: string | undefined;
  /** Lower-cased header names → every value, in order. */
  headers: Map<string, string[]>;
  /** The top-level Content-Type, lower-cased, without parameters, and its report-type if any. */
  contentType: string;
  reportType: string | undefined;
  text: string;
  html: string | undefined;
  attachments: ParsedAttachment[];
}

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

function addresses(list: Address[] | undefined): string[] {
  return (list ?? []).flatMap((a) => (a.group ? a.group.map((m) => m.address) : [a.address])).filter((a): a is string => !!a).map((a) => a.toLowerCase());
}

function bytes(content: ArrayBuffer | Uint8Array | string): Uint8Array {
  if (typeof content === "string") return new TextEncoder().encode(content);
  return content instanceof Uint8Array ? content : new Uint8Array(content);
}

export async function parseMessage(raw: Uint8Array): Promise<ParsedMessage> {
  const email: Email = await PostalMime.parse(raw, { attachmentEncoding: "arraybuffer" });
  const headers = new Map<string, string[]>();
  for (const h of email.headers) headers.set(h.key, [...(headers.get(h.key) ?? []), h.value]);
  const contentTypeHeader = headers.get("content-type")?.[0] ?? "text/plain";
  const from = email.from && !email.from.group && email.from.address ? { address: email.from.address.toLowerCase(), name: email.from.name ?? "" } : undefined;
  return {
    messageId: normaliseMessageId(email.messageId),
    inReplyTo: ids(email.inReplyTo)[0],
    references: ids(email.references),
    subject: email.subject ?? "",
    from,
    to: addresses(email.to),
    cc: addresses(email.cc),
    date: email.date,
    headers,
    contentType: contentTypeHeader.split(";")[0]!.trim().toLowerCase(),
    reportType: /report-type\s*=\s*"?([\w-]+)/i.exec(contentTypeHeader)?.[1]?.toLowerCase(),
    text: email.text ?? (email.html ? htmlToText(email.html) : ""),
    html: email.html,
    attachments: email.attachments.map((a, i) => {
      const content = bytes(a.content);
      return {
        filename: a.filename ?? `attachment-${i + 1}${a.mimeType === "message/rfc822" ? ".eml" : ""}`,
        contentType: a.mimeType.toLowerCase(),
        size: content.byteLength,
        inline: a.disposition === "inline" || (!!a.related && !!a.contentId),
        contentId: a.contentId ? a.contentId.replace(/^<|>$/g, "") : undefined,
        content,
      };
    }),
  };
}

/** A plain-text rendering of HTML-only mail, good enough for a comment body and reply detection. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, "")
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/(p|div|li|tr|h[1-6]|blockquote)>/gi, "\n")
    .replace(/<[^>]+>/g, "")
    .replace(/&nbsp;/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

export function header(message: ParsedMessage, name: string): string | undefined {
  return message.headers.get(name.toLowerCase())?.[0];
}
