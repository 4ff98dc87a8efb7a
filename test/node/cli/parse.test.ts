import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { inlet } from "../../support/cli.ts";

describe("inlet parse", () => {
  it("prints the consumer's parse of a message as JSON", async () => {
    const result = await inlet(["parse", "test/fixtures/mail/23-inline-image.eml"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      messageId: "J23@customer.example",
      inReplyTo: null,
      references: [],
      subject: "Error dialog screenshot",
      from: { address: "jon@customer.example", name: "Jon Park" },
      fromSource: "from",
      classification: "normal",
      signal: null,
      suspicious: false,
      replyText: expect.stringContaining("See the error:"),
      attachments: [{ filename: "image001.png", contentType: "image/png", inline: true, contentId: "screenshot23@customer.example", size: expect.any(Number) }],
    });
  });

  it("classifies with the helpdesk's own addresses and strips quoted replies", async () => {
    const loop = JSON.parse((await inlet(["parse", "test/fixtures/mail/19-from-helpdesk-address.eml", "--own-address", "support@helpdesk.example"])).stdout) as { classification: string; signal: string };
    expect(loop).toMatchObject({ classification: "loop", signal: "from_own_address" });
    const reply = JSON.parse((await inlet(["parse", "test/fixtures/mail/02-gmail-reply.eml"])).stdout) as { replyText: string; inReplyTo: string; references: string[] };
    expect(reply).toMatchObject({ replyText: "Same here on floor 4 since 9:30.", inReplyTo: "A1.outlook@customer.example", references: ["A1.outlook@customer.example"] });
  });

  it("shows the classification's signal and what a bounce says happened", async () => {
    const bounce = JSON.parse((await inlet(["parse", "test/fixtures/mail/16-dsn-bounce.eml"])).stdout) as object;
    expect(bounce).toMatchObject({ classification: "bounce", signal: "delivery_status_report", delivery: "failed", skipReason: "bounce" });
  });

  it("a missing file is a clear error with exit code 2", async () => {
    expect(await inlet(["parse", "no/such.eml"])).toMatchObject({ code: 2, stderr: "inlet: cannot read no/such.eml: ENOENT\n" });
  });

  it("several files and folders print one JSON object per line with the file; a file that cannot be parsed gets its error and the run goes on", async () => {
    const dir = await mkdtemp(join(tmpdir(), "inlet-parse-"));
    try {
      await writeFile(join(dir, "a-ok.eml"), "From: Ann <ann@x.example>\r\nSubject: Hello\r\n\r\nHi.\r\n");
      await writeFile(join(dir, "b-broken.eml"), `From: a@x.example\r\n${"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n".repeat(300)}`);
      await writeFile(join(dir, "notes.txt"), "not mail");
      const result = await inlet(["parse", join(dir), "test/fixtures/mail/12-x-autoreply.eml", join(dir, "missing.eml")]);
      const lines = result.stdout.trim().split("\n").map((l) => JSON.parse(l) as { file: string; subject?: string; classification?: string; error?: { code: string } });
      expect(lines.map((l) => [l.file, l.error?.code ?? l.classification])).toEqual([
        [join(dir, "a-ok.eml"), "normal"],
        [join(dir, "b-broken.eml"), "message_unparseable"],
        ["test/fixtures/mail/12-x-autoreply.eml", "auto_reply"],
        [join(dir, "missing.eml"), "file_unreadable"],
      ]);
      expect(result).toMatchObject({ code: 1, stderr: "inlet: 2 files could not be parsed\n" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a folder of good mail exits 0", async () => {
    const result = await inlet(["parse", "test/fixtures/mail"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split("\n").length).toBeGreaterThanOrEqual(42);
  });

  it("refuses an unknown provider or fallback charset with exit code 2", async () => {
    expect(await inlet(["parse", "test/fixtures/mail/12-x-autoreply.eml", "--provider", "aol"])).toMatchObject({ code: 2, stderr: "inlet: --provider must be one of microsoft, google, imap\n" });
    expect(await inlet(["parse", "test/fixtures/mail/12-x-autoreply.eml", "--fallback-charset", "klingon-8"])).toMatchObject({ code: 2 });
  });
});
