// Header bytes as mailers really send them, made into what the parser expects. postal-mime reads
// every header line as UTF-8, so a raw Latin-1 `Subject: Grüße` or `filename="März.pdf"` (8-bit
// bytes without an encoded word, common from older Outlook and scanners) becomes U+FFFD, and it
// knows no UTF-7 (`=?utf-7?...?=`). Before parsing, each header line of the message and of its own
// parts (not of a message it carries, whose bytes are an attachment) is rewritten:
//   - valid UTF-8 stays as it is (RFC 6532 allows it);
//   - any other line is decoded with the fallback charset (windows-1252 by default; every byte
//     has a character there, so nothing turns into U+FFFD) and written back as UTF-8;
//   - a UTF-7 encoded word becomes the same text as a UTF-8 encoded word.
// Bodies are never touched: their charset is declared and postal-mime decodes them.
import { Buffer, isUtf8 } from "node:buffer";
import { scanStructure, type MimePart } from "./structure.ts";
import { decodeUtf7 } from "./utf7.ts";
import { concatBytes } from "../../src/queue/bytes.ts";

const LF = 0x0a;
const encoder = new TextEncoder();
const ascii = new TextDecoder("latin1");
const UTF7_WORD = /=\?(?:unicode-1-1-)?utf-7(?:\*[^?]*)?\?([QqBb])\?([^?]*)\?=/gi;

/** Whether any header could need the repair; cheap, so it can run on every message. */
export function needsHeaderRepair(raw: Uint8Array): boolean {
  return !isUtf8(raw) || hasUtf7Word(raw);
}

function hasUtf7Word(raw: Uint8Array): boolean {
  // "-7?" is the same in any letter case; only its rare hits are checked further.
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = bytes.indexOf("-7?"); i >= 0; i = bytes.indexOf("-7?", i + 3)) {
    if (i >= 3 && ascii.decode(bytes.subarray(i - 3, i)).toLowerCase() === "utf") return true;
  }
  return false;
}

function wordBytes(encoding: string, text: string): string {
  if (encoding.toUpperCase() === "B") return Buffer.from(text, "base64").toString("latin1");
  return text.replace(/_/g, " ").replace(/=([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

export function utf7WordsToUtf8(line: string): string {
  return line.replace(UTF7_WORD, (_, encoding: string, text: string) => `=?utf-8?B?${Buffer.from(decodeUtf7(wordBytes(encoding, text)), "utf8").toString("base64")}?=`);
}

function repairLine(line: Uint8Array, fallback: (bytes: Uint8Array) => string): Uint8Array {
  const utf8 = isUtf8(line);
  const text = utf8 ? Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString("utf8") : fallback(line);
  const rewritten = utf7WordsToUtf8(text);
  return utf8 && rewritten === text ? line : encoder.encode(rewritten);
}

/**
 * The message with its header lines repaired, or the same bytes when nothing needed it.
 * `parts` may be passed when the structure is already known.
 */
export function repairHeaderBytes(raw: Uint8Array, fallbackCharset: string, parts: MimePart[] = scanStructure(raw)): Uint8Array {
  const decoder = new TextDecoder(fallbackCharset);
  const fallback = (bytes: Uint8Array) => decoder.decode(bytes);
  const chunks: Uint8Array[] = [];
  let copied = 0;
  let changed = false;
  for (const part of parts) {
    if (part.embedded) continue;
    for (let pos = part.headerStart; pos < part.headerEnd; ) {
      const lf = raw.indexOf(LF, pos);
      const end = lf < 0 || lf > part.headerEnd ? part.headerEnd : lf;
      const line = raw.subarray(pos, end);
      const repaired = repairLine(line, fallback);
      if (repaired !== line) {
        chunks.push(raw.subarray(copied, pos), repaired);
        copied = end;
        changed = true;
      }
      pos = end + 1;
    }
  }
  if (!changed) return raw;
  chunks.push(raw.subarray(copied));
  return concatBytes(chunks);
}
