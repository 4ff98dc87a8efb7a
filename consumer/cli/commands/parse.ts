import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { classify } from "../../mime/classify.ts";
import { parseMessage } from "../../mime/parse.ts";
import { stripQuotedReply } from "../../mime/quoted-reply.ts";
import { CliError, printJson, run } from "../output.ts";

export function registerParse(program: Command): void {
  program
    .command("parse <file>")
    .description("the consumer's own parse of one .eml message, as JSON")
    .option("--own-address <address...>", "the helpdesk's own addresses (for loop detection)", [])
    .action((file: string, options: { ownAddress: string[] }) =>
      run(async () => {
        let raw: Buffer;
        try {
          raw = await readFile(file);
        } catch (error) {
          throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`, 2);
        }
        const parsed = await parseMessage(new Uint8Array(raw));
        const verdict = classify(parsed, options.ownAddress);
        printJson({
          messageId: parsed.messageId ?? null,
          inReplyTo: parsed.inReplyTo ?? null,
          references: parsed.references,
          subject: parsed.subject,
          from: parsed.from ?? null,
          to: parsed.to,
          cc: parsed.cc,
          date: parsed.date ?? null,
          classification: verdict.classification,
          bulk: verdict.bulk,
          text: parsed.text,
          replyText: stripQuotedReply(parsed.text),
          attachments: parsed.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, size: a.size, inline: a.inline, contentId: a.contentId ?? null })),
        });
      }),
    );
}
