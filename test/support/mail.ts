// Builds real-format RFC 5322 messages for tests and benchmarks.
export interface MailAttachment {
  filename: string;
  contentType: string;
  bytes: Uint8Array;
  /** Set for an inline image referenced from the HTML as cid:<contentId>. */
  contentId?: string;
}

export interface MailOptions {
  id: string;
  from?: string;
  subject?: string;
  inReplyTo?: string;
  references?: string[];
  body?: string;
  /** An HTML alternative to the text body. */
  html?: string;
  attachment?: MailAttachment;
  attachments?: MailAttachment[];
  date?: Date;
}

const base64Lines = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64").replace(/.{76}/g, "$&\r\n");

function bodyPart(o: MailOptions, body: string): string[] {
  if (!o.html) return ["Content-Type: text/plain; charset=utf-8", "", body];
  return [
    'Content-Type: multipart/alternative; boundary="alt-b0undary"',
    "",
    "--alt-b0undary",
    "Content-Type: text/plain; charset=utf-8",
    "",
    body,
    "--alt-b0undary",
    "Content-Type: text/html; charset=utf-8",
    "",
    o.html,
    "--alt-b0undary--",
  ];
}

function attachmentPart(a: MailAttachment): string[] {
  const disposition = a.contentId ? "inline" : "attachment";
  return [
    `Content-Type: ${a.contentType}; name="${a.filename}"`,
    `Content-Disposition: ${disposition}; filename="${a.filename}"`,
    ...(a.contentId ? [`Content-ID: <${a.contentId}>`] : []),
    "Content-Transfer-Encoding: base64",
    "",
    base64Lines(a.bytes),
  ];
}

export function buildMail(o: MailOptions): Uint8Array {
  const headers = [
    `From: ${o.from ?? "Customer <customer@example.org>"}`,
    "To: support@helpdesk.example",
    `Subject: ${o.subject ?? `Request ${o.id}`}`,
    `Date: ${(o.date ?? new Date("2026-03-02T09:00:00Z")).toUTCString()}`,
    `Message-ID: <${o.id}>`,
    ...(o.inReplyTo ? [`In-Reply-To: <${o.inReplyTo}>`] : []),
    ...(o.references?.length ? [`References: ${o.references.map((r) => `<${r}>`).join(" ")}`] : []),
    "MIME-Version: 1.0",
  ];
  const body = o.body ?? `Hello, this is message ${o.id}.`;
  const attachments = [...(o.attachment ? [o.attachment] : []), ...(o.attachments ?? [])];
  if (attachments.length === 0) return new TextEncoder().encode([...headers, ...bodyPart(o, body), ""].join("\r\n"));
  return new TextEncoder().encode(
    [
      ...headers,
      'Content-Type: multipart/mixed; boundary="b0undary"',
      "",
      "--b0undary",
      ...bodyPart(o, body),
      ...attachments.flatMap((a) => ["--b0undary", ...attachmentPart(a)]),
      "--b0undary--",
      "",
    ].join("\r\n"),
  );
}
