// Mail-understanding micro-benchmark: microseconds per message for each layer of consumer/mime,
// on the shapes bench/process.ts uses (small ~5 KB text, typical ~75 KB text + HTML + inline
// image + attachment) and on small HTML-only mail:
//   postal-mime   PostalMime.parse alone (what any parse costs)
//   parse         parseMessage: + header-byte check, author, report parts, HTML text
//   understand    understandMessage: + classify, quoted-reply stripping, sender check
// Compare `understand − postal-mime` with the per-message time of processing (1 / msg/s from
// bench/process.ts) to see what understanding costs the processing rate. Prints a table; writes
// nothing. Pass `--baseline DIR` (another checkout's consumer/mime, e.g. main's) to time its
// parseMessage + classify + stripQuotedReply on the same mail as well.
//   node bench/mime.ts [--iterations 2000] [--baseline /path/to/checkout]
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import PostalMime from "postal-mime";
import { understandMessage } from "../consumer/mime/understand.ts";
import { parseMessage } from "../consumer/mime/parse.ts";
import { buildMail } from "../test/support/mail.ts";

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const ITERATIONS = Number(arg("iterations") ?? 2000);
const BASELINE = arg("baseline");

const prose = (chars: number) => "Our VPN client drops the connection every few minutes since the update. ".repeat(Math.ceil(chars / 73)).slice(0, chars);
const noise = (n: number, seed: number) => {
  const bytes = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) bytes[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  return bytes;
};
const htmlOnly = (id: string) =>
  new TextEncoder().encode(
    `From: Customer <customer@example.org>\r\nTo: support@helpdesk.example\r\nSubject: Request ${id}\r\nMessage-ID: <${id}>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><head><style>p{margin:0}</style></head><body><p>${prose(4_000).replace(/every/g, "&uuml;ber &amp; every")}</p><ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr></table></body></html>\r\n`,
  );

const SHAPES: Record<string, (i: number) => Uint8Array> = {
  small: (i) => buildMail({ id: `s${i}@bench.example`, body: prose(4_600) }),
  typical: (i) =>
    buildMail({
      id: `t${i}@bench.example`,
      body: prose(6_000),
      html: `<html><body><p>${prose(12_000)}</p><img src="cid:shot@bench.example"></body></html>`,
      attachments: [
        { filename: "screenshot.png", contentType: "image/png", bytes: noise(24_000, 1), contentId: "shot@bench.example" },
        { filename: "vpn-log.txt", contentType: "text/plain", bytes: noise(18_000, 2) },
      ],
    }),
  "small html-only": (i) => htmlOnly(`h${i}@bench.example`),
};

type Step = (raw: Uint8Array) => Promise<unknown>;

async function baselineStep(dir: string): Promise<Step> {
  const load = async <T>(file: string) => (await import(pathToFileURL(resolve(dir, "consumer/mime", file)).href)) as T;
  const { parseMessage: parse } = await load<{ parseMessage: (raw: Uint8Array) => Promise<{ text: string }> }>("parse.ts");
  const { classify } = await load<{ classify: (m: unknown, own: string[]) => unknown }>("classify.ts");
  const { stripQuotedReply } = await load<{ stripQuotedReply: (t: string) => string }>("quoted-reply.ts");
  return async (raw) => {
    const parsed = await parse(raw);
    classify(parsed, ["support@helpdesk.example"]);
    return stripQuotedReply(parsed.text);
  };
}

/** Median of five timed passes, in microseconds per message. */
async function time(step: Step, mails: Uint8Array[]): Promise<number> {
  for (const raw of mails.slice(0, 200)) await step(raw); // warm up
  const passes: number[] = [];
  for (let pass = 0; pass < 5; pass++) {
    const started = performance.now();
    for (const raw of mails) await step(raw);
    passes.push(((performance.now() - started) * 1000) / mails.length);
  }
  return passes.sort((a, b) => a - b)[2]!;
}

const steps: [string, Step][] = [
  ["postal-mime", (raw) => PostalMime.parse(raw, { attachmentEncoding: "arraybuffer" })],
  ["parse", (raw) => parseMessage(raw)],
  ["understand", (raw) => understandMessage(raw, { ownAddresses: ["support@helpdesk.example"], provider: "imap" })],
];
if (BASELINE) steps.push(["baseline", await baselineStep(BASELINE)]);

const rows: string[] = [];
for (const [shape, make] of Object.entries(SHAPES)) {
  const count = shape === "typical" ? Math.max(50, Math.round(ITERATIONS / 10)) : ITERATIONS;
  const mails = Array.from({ length: count }, (_, i) => make(i));
  const results: Record<string, number> = {};
  for (const [name, step] of steps) results[name] = await time(step, mails);
  const cells = steps.map(([name]) => results[name]!.toFixed(1));
  const extra = results.understand! - results["postal-mime"]!;
  const overBaseline = BASELINE ? (results.understand! - results.baseline!).toFixed(1) : "";
  rows.push(`| ${shape} (${(mails[0]!.byteLength / 1024).toFixed(0)} KB) | ${cells.join(" | ")} | ${extra.toFixed(1)} |${BASELINE ? ` ${overBaseline} |` : ""}`);
}
process.stdout.write(`µs per message, median of 5 passes (Node ${process.version})\n\n`);
process.stdout.write(`| mail | ${steps.map(([n]) => n).join(" | ")} | understand − postal-mime |${BASELINE ? " understand − baseline |" : ""}\n`);
process.stdout.write(`|---|${steps.map(() => "---:").join("|")}|---:|${BASELINE ? "---:|" : ""}\n${rows.join("\n")}\n`);
