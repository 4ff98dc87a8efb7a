// Addresses from header fields, robust to what mailers send. The common failure: an encoded-word
// display name that holds a comma (`=?iso-8859-1?Q?B=FCrling,=20Andreas?= <a@b.example>`) is split
// at that comma by a parser that decodes after splitting, and the address is lost. Here every run of
// encoded words outside quotes is decoded first and put back as one quoted string, then the list is
// parsed. A mailbox is usable only with an address that has a local part and a domain: `<>`, `<@>`
// and a bare `MAILER-DAEMON` name no one.
import { addressParser, decodeWords, type Address } from "postal-mime";

export interface Mailbox {
  /** Lower-cased. */
  address: string;
  name: string;
}

export type AuthorSource = "from" | "sender" | "reply-to";

// One or more encoded words (RFC 2047 2) separated only by folding whitespace.
const ENCODED_WORD_RUN = /=\?[^?\s]+\?[QqBb]\?[^?]*\?=(?:[ \t\r\n]+=\?[^?\s]+\?[QqBb]\?[^?]*\?=)*/g;
const USABLE_ADDRESS = /^[^@\s]+@[^@\s]+$/;

/** Decode encoded-word runs outside quoted strings and quote them, so their commas are text. */
function quoteEncodedWords(value: string): string {
  if (!value.includes("=?")) return value;
  let out = "";
  let quoted = false;
  let segment = "";
  const flush = () => {
    out += segment.replace(ENCODED_WORD_RUN, (run) => `"${decodeWords(run).replace(/[\\"]/g, "\\$&")}"`);
    segment = "";
  };
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted) {
      out += c;
      if (c === "\\" && i + 1 < value.length) out += value[++i];
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      flush();
      out += c;
      quoted = true;
    } else {
      segment += c;
    }
  }
  flush();
  return out;
}

function flatten(list: Address[]): { address: string; name: string }[] {
  return list.flatMap((a) => (a.group ? a.group : [a])).map((m) => ({ address: (m.address ?? "").trim(), name: (m.name ?? "").trim() }));
}

/** Every usable mailbox of an address list header (To, Cc, From with several authors). */
export function parseAddressList(value: string | undefined): Mailbox[] {
  if (!value) return [];
  return flatten(addressParser(quoteEncodedWords(value)))
    .filter((m) => USABLE_ADDRESS.test(m.address))
    .map((m) => ({ address: m.address.toLowerCase(), name: decodeWords(m.name) }));
}

/** The first usable mailbox of a header, or undefined (`<>`, `<MAILER-DAEMON>`, garbage). */
export function parseMailbox(value: string | undefined): Mailbox | undefined {
  return parseAddressList(value)[0];
}

/**
 * Who wrote the message: From, else Sender, else Reply-To (RFC 5322 3.6.2 names Sender as the
 * agent responsible; Reply-To is where the author wants answers), with the field it came from.
 */
export function authorOf(headers: Map<string, string[]>): { from: Mailbox; source: AuthorSource } | undefined {
  for (const source of ["from", "sender", "reply-to"] as const) {
    const from = parseMailbox(headers.get(source)?.[0]);
    if (from) return { from, source };
  }
  return undefined;
}
