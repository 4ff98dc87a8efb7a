// `inlet parse FILE|DIR...`: the consumer's own understanding of messages. One file prints one
// JSON document; several files or a folder (searched for .eml files, in name order) print one JSON
// object per line with its `file`, so a whole corpus is checked in one process. A file that cannot
// be read or parsed gets a line with its `error` ({code, message}) and the run goes on; the exit
// code is then 1.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { MimeError } from "../../mime/errors.ts";
import { checkCharset, mailOptionsFromEnv, type MailOptions } from "../../mime/options.ts";
import type { MailboxProvider } from "../../mime/sender-check.ts";
import { understandMessage, type MessageContext, type Understanding } from "../../mime/understand.ts";
import { CliError, printJson, run } from "../output.ts";

const PROVIDERS: readonly MailboxProvider[] = ["microsoft", "google", "imap"];

interface ParseOptions {
  ownAddress: string[];
  provider: string;
  trustedAuthservId?: string[];
  fallbackCharset?: string;
}

export function view({ parsed, verdict, sender, replyText }: Understanding) {
  return {
    messageId: parsed.messageId ?? null,
    inReplyTo: parsed.inReplyTo ?? null,
    references: parsed.references,
    subject: parsed.subject,
    from: parsed.from ?? null,
    fromSource: parsed.fromSource ?? null,
    to: parsed.to,
    cc: parsed.cc,
    date: parsed.date ?? null,
    classification: verdict.classification,
    signal: verdict.signal ?? null,
    delivery: verdict.delivery ?? null,
    skipReason: verdict.skipReason ?? null,
    bulk: verdict.bulk,
    suspicious: sender.suspicious,
    suspiciousReason: sender.reason ?? null,
    authentication: sender.authentication ?? null,
    textSource: parsed.textSource,
    text: parsed.text,
    replyText,
    attachments: parsed.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, size: a.size, inline: a.inline, contentId: a.contentId ?? null })),
  };
}

/** The .eml files under a folder, depth first, in name order. */
async function emlFiles(dir: string): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await emlFiles(path)));
    else if (entry.isFile() && entry.name.toLowerCase().endsWith(".eml")) files.push(path);
  }
  return files;
}

function errorOf(error: unknown): { code: string; message: string } {
  if (error instanceof MimeError) return { code: error.code, message: error.message };
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code === "string") return { code: "file_unreadable", message: `cannot read: ${code}` };
  return { code: "parse_failed", message: error instanceof Error ? error.message : String(error) };
}

function contextOf(options: ParseOptions): MessageContext {
  if (!PROVIDERS.includes(options.provider as MailboxProvider)) throw new CliError(`--provider must be one of ${PROVIDERS.join(", ")}`, 2);
  let mail: MailOptions;
  try {
    mail = mailOptionsFromEnv(process.env);
    if (options.fallbackCharset) mail = { ...mail, fallbackCharset: checkCharset(options.fallbackCharset) };
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), 2);
  }
  if (options.trustedAuthservId) mail = { ...mail, trustedAuthservIds: options.trustedAuthservId.map((id) => id.toLowerCase()) };
  return { ownAddresses: options.ownAddress, provider: options.provider as MailboxProvider, options: mail };
}

export function registerParse(program: Command): void {
  program
    .command("parse <paths...>")
    .description("the consumer's own parse of .eml messages, as JSON (several files or a folder: one JSON object per line)")
    .option("--own-address <address...>", "the helpdesk's own addresses (for loop detection)", [])
    .option("--provider <provider>", "the mailbox's provider, whose Authentication-Results to believe: microsoft, google or imap", "imap")
    .option("--trusted-authserv-id <id...>", "authserv-ids to believe (default INLET_TRUSTED_AUTHSERV_IDS)")
    .option("--fallback-charset <charset>", "charset for undeclared 8-bit header bytes (default INLET_MAIL_FALLBACK_CHARSET, else windows-1252)")
    .action((paths: string[], options: ParseOptions) =>
      run(async () => {
        const context = contextOf(options);
        const single = paths.length === 1 && !(await stat(paths[0]!).catch(() => undefined))?.isDirectory();
        if (single) {
          const file = paths[0]!;
          let raw: Buffer;
          try {
            raw = await readFile(file);
          } catch (error) {
            throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`, 2);
          }
          try {
            printJson(view(await understandMessage(new Uint8Array(raw), context)));
          } catch (error) {
            const { code, message } = errorOf(error);
            throw new CliError(`cannot parse ${file}: ${code}: ${message}`, 1);
          }
          return;
        }
        let failed = 0;
        for (const path of paths) {
          const isDir = (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
          for (const file of isDir ? await emlFiles(path) : [path]) {
            let line: object;
            try {
              line = { file, ...view(await understandMessage(new Uint8Array(await readFile(file)), context)) };
            } catch (error) {
              failed++;
              line = { file, error: errorOf(error) };
            }
            process.stdout.write(`${JSON.stringify(line)}\n`);
          }
        }
        if (failed > 0) throw new CliError(`${failed} file${failed === 1 ? "" : "s"} could not be parsed`, 1);
      }),
    );
}
