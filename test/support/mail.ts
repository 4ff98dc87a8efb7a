// Builds real-format RFC 5322 messages for tests and benchmarks.
export interface MailOptions {
  id: string;
  from?: string;
  subject?: string;
  inReplyTo?: string;
  references?: string[];
  body?: string;
  attachment?: { filename: string; contentType: string; bytes: Uint8Array };
  date?: Date;
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
  if (!o.attachment) return new TextEncoder().encode([...headers, "Content-Type: text/plain; charset=utf-8", "", body, ""].join("\r\n"));
  const b64 = Buffer.from(o.attachment.bytes).toString("base64").replace(/.{76}/g, "$&\r\n");
  return new TextEncoder().encode(
    [
      ...headers,
      'Content-Type: multipart/mixed; boundary="b0undary"',
      "",
      "--b0undary",
      "Content-Type: text/plain; charset=utf-8",
      "",
      body,
      "--b0undary",
      `Content-Type: ${o.attachment.contentType}; name="${o.attachment.filename}"`,
      `Content-Disposition: attachment; filename="${o.attachment.filename}"`,
      "Content-Transfer-Encoding: base64",
      "",
      b64,
      "--b0undary--",
      "",
    ].join("\r\n"),
  );
}
