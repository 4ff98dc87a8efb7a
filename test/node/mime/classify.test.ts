// Rules of classification that the fixture corpus does not pin down one by one.
import { describe, expect, it } from "vitest";
import { classify } from "../../../consumer/mime/classify.ts";
import { parseMessage } from "../../../consumer/mime/parse.ts";

const verdict = async (headers: string, body = "Hello.") => classify(await parseMessage(new TextEncoder().encode(`${headers.trim().replace(/\n/g, "\r\n")}\r\n\r\n${body}\r\n`)), ["support@helpdesk.example"]);

describe("classification", () => {
  it("a bounce subject alone never makes a bounce; with a second signal it does", async () => {
    expect(await verdict("From: Ann <ann@x.example>\nSubject: Undeliverable: my parcel")).toMatchObject({ classification: "normal", signal: undefined, skipReason: undefined });
    expect(await verdict("From: Ann <ann@x.example>\nSubject: Undeliverable: my parcel\nAuto-Submitted: auto-generated")).toMatchObject({ classification: "bounce", signal: "bounce_subject+auto_submitted", delivery: "failed", skipReason: "bounce" });
  });

  it("a delay notice is a bounce whose delivery is delayed and whose skip reason says so", async () => {
    expect(await verdict("From: Mail Gateway <gw@x.example>\nReturn-Path: <>\nSubject: Delivery delayed: weekly report")).toMatchObject({ classification: "bounce", signal: "delay_subject+null_return_path", delivery: "delayed", skipReason: "delivery_delayed" });
  });

  it("reads a report's outcome from its Status classes when it names no Action", async () => {
    const report = (status: string) => verdict('From: postmaster@x.example\nSubject: Report\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="r"', `--r\r\nContent-Type: text/plain\r\n\r\nx\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; a@y.example\r\nStatus: ${status}\r\n--r--`);
    expect((await report("4.2.2")).delivery).toBe("delayed");
    expect((await report("5.2.2")).delivery).toBe("failed");
  });

  it("a weak auto-reply subject needs a second signal", async () => {
    expect((await verdict("From: Frank <frank@x.example>\nSubject: Auto: lease return")).classification).toBe("normal");
    expect(await verdict("From: Frank <frank@x.example>\nSubject: Auto: lease return\nIn-Reply-To: <q@helpdesk.example>")).toMatchObject({ classification: "auto_reply", signal: "auto_reply_subject+in_reply_to", skipReason: undefined });
  });

  it("a null Return-Path on otherwise ordinary-looking mail is a notification, not a request", async () => {
    expect(await verdict("From: Robot <robot@x.example>\nReturn-Path: <>\nSubject: Status")).toMatchObject({ classification: "auto_reply", signal: "null_return_path" });
  });

  it("an Exchange inbox-rule forward is not an auto-reply, the rule's own reply is", async () => {
    expect((await verdict("From: Olaf <olaf@x.example>\nSubject: FW: hinge\nX-MS-Exchange-Inbox-Rules-Loop: olaf@x.example\nX-Auto-Response-Suppress: All")).classification).toBe("normal");
    expect((await verdict("From: Olaf <olaf@x.example>\nSubject: Thanks for writing\nX-MS-Exchange-Inbox-Rules-Loop: olaf@x.example\nX-Auto-Response-Suppress: All")).signal).toBe("exchange_inbox_rule");
  });

  it("mail sent as the helpdesk through Sender is a loop; a Reply-To pointing at the helpdesk is not", async () => {
    expect(await verdict("From: <>\nSender: support@helpdesk.example\nSubject: x")).toMatchObject({ classification: "loop", skipReason: "loop" });
    expect((await verdict("From: <>\nReply-To: support@helpdesk.example\nSubject: x")).classification).toBe("normal");
  });
});
