// The parse layer on hand-made edge cases: authors, header bytes, UTF-7, filenames, HTML text,
// and where report parts sit. Real-format messages are in test/fixtures/mail (corpus.test.ts).
import { describe, expect, it } from "vitest";
import { parseMessage } from "../../../consumer/mime/parse.ts";
import { MimeError } from "../../../consumer/mime/errors.ts";
import { decodeUtf7 } from "../../../consumer/mime/utf7.ts";
import { checkCharset, mailOptionsFromEnv } from "../../../consumer/mime/options.ts";

const crlf = (s: string) => s.replace(/\r?\n/g, "\r\n");
const mail = (s: string) => new TextEncoder().encode(crlf(s));
const bytes = (...chunks: (string | number[])[]) => new Uint8Array(chunks.flatMap((c) => (typeof c === "string" ? [...new TextEncoder().encode(crlf(c))] : c)));

describe("authors", () => {
  it("keeps the address of an encoded-word display name that contains a comma", async () => {
    const p = await parseMessage(mail("From: =?iso-8859-1?Q?B=FCrling,=20Andreas?= <a@b.example>\nTo: =?utf-8?Q?M=C3=BCller,_Hans?= <hans@x.example>, eve@y.example\nSubject: x\n\nhi\n"));
    expect(p.from).toEqual({ address: "a@b.example", name: "Bürling, Andreas" });
    expect(p.fromSource).toBe("from");
    expect(p.to).toEqual(["hans@x.example", "eve@y.example"]);
  });

  it("falls back to Sender, then Reply-To, when From has no usable address, and says which", async () => {
    const sender = await parseMessage(mail("From: <>\nSender: Ops Robot <ops@x.example>\nReply-To: desk@x.example\nSubject: x\n\nhi\n"));
    expect(sender).toMatchObject({ from: { address: "ops@x.example", name: "Ops Robot" }, fromSource: "sender" });
    const replyTo = await parseMessage(mail("From: MAILER-DAEMON <>\nReply-To: Bounce Desk <Desk@X.example>\nSubject: x\n\nhi\n"));
    expect(replyTo).toMatchObject({ from: { address: "desk@x.example", name: "Bounce Desk" }, fromSource: "reply-to" });
    const none = await parseMessage(mail("From: <MAILER-DAEMON>\nSubject: x\n\nhi\n"));
    expect(none).toMatchObject({ from: undefined, fromSource: undefined });
  });
});

describe("header bytes", () => {
  it("decodes undeclared 8-bit header bytes as UTF-8 when they are UTF-8, else with the fallback charset", async () => {
    const latin1 = bytes("From: J", [0xfc], "rgen <j@x.example>\nSubject: Gr", [0xfc, 0xdf], "e\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nok\n");
    expect(await parseMessage(latin1)).toMatchObject({ subject: "Grüße", from: { name: "Jürgen" } });
    const utf8 = bytes("From: j@x.example\nSubject: Grüße aus Köln\n\nok\n");
    expect((await parseMessage(utf8)).subject).toBe("Grüße aus Köln");
    const cyrillic = bytes("From: a@x.example\nSubject: ", [0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2], "\n\nok\n");
    expect((await parseMessage(cyrillic, { fallbackCharset: "windows-1251" })).subject).toBe("Привет");
  });

  it("never yields U+FFFD for bytes the fallback charset decodes, in attachment filenames too", async () => {
    const raw = bytes('From: a@x.example\nSubject: scan\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\nAnbei die Rechnung f', [0xfc], 'r M', [0xe4], 'rz.\n--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename="M', [0xe4], 'rz.pdf"\nContent-Transfer-Encoding: base64\n\nJVBERi0=\n--b--\n');
    const p = await parseMessage(raw);
    expect(p.attachments.map((a) => a.filename)).toEqual(["März.pdf"]);
    expect(p.text).toContain("für März");
    expect(JSON.stringify(p.headers)).not.toContain("\ufffd");
  });

  it("decodes UTF-7 encoded words", async () => {
    expect(decodeUtf7("Hi Mom -+Jjo--!")).toBe("Hi Mom -☺-!");
    expect(decodeUtf7("A+ImIDkQ.")).toBe("A≢Α.");
    expect(decodeUtf7("1 +- 1")).toBe("1 + 1");
    const p = await parseMessage(mail("From: =?utf-7?Q?Andr+AOk-_Dupont?= <andre@x.example>\nSubject: =?UTF-7?B?UHLDqHM=?= =?utf-7?Q?+AOk-t+AOk-?=\n\nok\n"));
    expect(p.from?.name).toBe("André Dupont");
    expect(p.subject).toContain("été");
  });
});

describe("attachment names", () => {
  it("names parts without a filename, or with an empty one, after their content type", async () => {
    const p = await parseMessage(mail('From: a@x.example\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nsee attached\n--b\nContent-Type: message/delivery-status; name="=?utf-8?b??="\nContent-Disposition: attachment; filename="=?utf-8?b??="\n\nAction: failed\n--b\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\nSubject: a\n\nx\n--b\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\nSubject: b\n\ny\n--b\nContent-Type: image/png\nContent-Disposition: attachment\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--b--\n'));
    expect(p.attachments.map((a) => a.filename)).toEqual(["delivery-status.txt", "message.eml", "message-2.eml", "attachment-4.png"]);
  });
});

describe("text", () => {
  it("reads HTML-only mail with entities decoded, head/style/script dropped, lists, tables and link targets kept", async () => {
    const html = '<html><head><title>Order</title><style>p{color:red}</style><script>track()</script></head><body><p>Gl&uuml;ckwunsch &amp; &#8364;12 &#x2014; caf&eacute;</p><ul><li>Toner</li><li>Drum</li></ul><table><tr><th>Item</th><th>Qty</th></tr><tr><td>Toner</td><td>2</td></tr></table><p>Line one<br>line two, <a href="https://x.example/t/1">track it</a></p></body></html>';
    const p = await parseMessage(mail(`From: a@x.example\nSubject: x\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n${html}\n`));
    expect(p.textSource).toBe("html");
    expect(p.text).toBe("Glückwunsch & €12 — café\n\n * Toner\n * Drum\n\nItem    Qty\nToner   2\n\nLine one\nline two, track it [https://x.example/t/1]");
  });

  it("uses the HTML when the text part is blank", async () => {
    const p = await parseMessage(mail('From: a@x.example\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="a"\n\n--a\nContent-Type: text/plain; charset=utf-8\n\n \n\n--a\nContent-Type: text/html; charset=utf-8\n\n<div>The VPN drops every <b>10&nbsp;minutes</b>.</div>\n--a--\n'));
    expect(p).toMatchObject({ text: "The VPN drops every 10 minutes.", textSource: "html" });
  });

  it("keeps a text part that has content, even when HTML is there too", async () => {
    const p = await parseMessage(mail('From: a@x.example\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="a"\n\n--a\nContent-Type: text/plain; charset=utf-8\n\nPlain words.\n--a\nContent-Type: text/html; charset=utf-8\n\n<div>Other words</div>\n--a--\n'));
    expect(p).toMatchObject({ text: "Plain words.\n", textSource: "plain" });
  });
});

describe("report parts", () => {
  const dsn = 'From: MAILER-DAEMON@mx.x.example (Mail Delivery System)\nSubject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="r"\n\n--r\nContent-Type: text/plain\n\nCould not deliver.\n--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.x.example\n\nFinal-Recipient: rfc822; gone@y.example\nAction: failed\nStatus: 5.1.1\n--r--\n';

  it("finds the delivery-status part of a report with its text", async () => {
    const p = await parseMessage(mail(dsn));
    expect(p.reports).toEqual([{ contentType: "message/delivery-status", text: expect.stringContaining("Action: failed") }]);
  });

  it("does not count the report parts of a message forwarded inline as this message's", async () => {
    const forward = `From: Ann <ann@x.example>\nSubject: Fwd: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="o"\n\n--o\nContent-Type: text/plain\n\nWhy did this bounce?\n--o\nContent-Type: message/rfc822\n\n${dsn}\n--o--\n`;
    const p = await parseMessage(mail(forward));
    expect(p.attachments.map((a) => a.contentType)).toContain("message/delivery-status");
    expect(p.reports).toEqual([]);
  });
});

describe("errors and options", () => {
  it("a message the MIME parser refuses is a MimeError with code message_unparseable", async () => {
    const deep = "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n".repeat(300);
    const error = await parseMessage(new TextEncoder().encode(`From: a@x.example\r\n${deep}`)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MimeError);
    expect((error as MimeError).code).toBe("message_unparseable");
  });

  it("reads the fallback charset and trusted authserv-ids from the environment, refusing unknown charsets", () => {
    expect(mailOptionsFromEnv({})).toEqual({ fallbackCharset: "windows-1252", trustedAuthservIds: [] });
    expect(mailOptionsFromEnv({ INLET_MAIL_FALLBACK_CHARSET: "ISO-8859-2", INLET_TRUSTED_AUTHSERV_IDS: " mx.Example.net, ,imap.example.org" })).toEqual({ fallbackCharset: "iso-8859-2", trustedAuthservIds: ["mx.example.net", "imap.example.org"] });
    expect(() => checkCharset("klingon-8")).toThrow(expect.objectContaining({ code: "unknown_fallback_charset" }));
  });
});
