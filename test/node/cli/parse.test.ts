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
      classification: "normal",
      replyText: expect.stringContaining("See the error:"),
      attachments: [{ filename: "image001.png", contentType: "image/png", inline: true, contentId: "screenshot23@customer.example", size: expect.any(Number) }],
    });
  });

  it("classifies with the helpdesk's own addresses and strips quoted replies", async () => {
    const loop = JSON.parse((await inlet(["parse", "test/fixtures/mail/19-from-helpdesk-address.eml", "--own-address", "support@helpdesk.example"])).stdout) as { classification: string };
    expect(loop.classification).toBe("loop");
    const reply = JSON.parse((await inlet(["parse", "test/fixtures/mail/02-gmail-reply.eml"])).stdout) as { replyText: string; inReplyTo: string; references: string[] };
    expect(reply).toMatchObject({ replyText: "Same here on floor 4 since 9:30.", inReplyTo: "A1.outlook@customer.example", references: ["A1.outlook@customer.example"] });
  });

  it("a missing file is a clear error with exit code 2", async () => {
    expect(await inlet(["parse", "no/such.eml"])).toMatchObject({ code: 2, stderr: "inlet: cannot read no/such.eml: ENOENT\n" });
  });
});
