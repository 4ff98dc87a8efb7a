// The reply without the history it quotes: cut at the first line that opens a quoted block in the
// styles mail clients use. The full text is always kept elsewhere (processing stores both).
//   - Outlook and Notes header blocks ("From: … Sent: …", "Von:"Hans" <h@x>" with no space) open
//     a quote only when header-like lines follow; a bare `____` or `-----` separator opens none by
//     itself (people draw lines in their mail) and is dropped when it trails the reply.
//   - Attribution lines ("On … wrote:", "Am … schrieb …:", Notes' "… wrote on …:") and `>` lines
//     open a quote, unless the reply is interleaved: text of the author's own after a quoted
//     block means answers sit between the quotes, so only the trailing quoted block is cut.
//   - A result that is empty, or only punctuation and separators, means nothing was written
//     above the quote (a forward without comment): the full text is kept.
const SEPARATOR_HEADINGS = [
  /^-{2,}\s*Original Message\s*-{2,}$/i, // Outlook (plain)
  /^-{2,}\s*(Urspr[üu]ngliche Nachricht|Message d'origine|Mensaje original|Messaggio originale|Oorspronkelijk bericht|Mensagem original|Ursprungligt meddelande|Oprindelig meddelelse|Opprinnelig melding|Alkuperäinen viesti|Wiadomość oryginalna|Původní zpráva|Исходное сообщение)\s*-{2,}$/i,
];

const ATTRIBUTIONS = [
  /^On\s.+\swrote:$/i, // Gmail, Apple Mail ("On Mon, 3 Mar 2026 at 10:02, Ann <ann@x> wrote:")
  /^Am\s.+\sschrieb\s.+:$/i,
  /^Le\s.+\sa écrit\s*:$/i,
  /^El\s.+\sescribió:$/i,
  /^Il giorno\s.+\sha scritto:$/i,
  /^Op\s.+\sschreef\s.+:$/i,
  /^.{1,200}\s(?:wrote on|schrieb am|a écrit le)\s.+:$/i, // HCL Notes ("Hans Müller" <h@x> schrieb am 03.03.2026 10:15:00:)
];

// Outlook's and Notes' header block: the author line, then fields. Notes writes `Von:"Hans"`,
// with no space after the colon, and aligns values with runs of spaces.
const AUTHOR_FIELD = /^(From|Von|De|Da|Van|Od|Från|Fra|Lähettäjä|От):\s*\S/i;
const HEADER_FIELDS = /^(Sent|Gesendet|Envoyé|Enviado|Inviato|Verzonden|Skickat|Sendt|Lähetetty|Wysłano|Отправлено|Date|Datum|Data|Fecha|To|An|À|Para|A|Aan|Till|Til|Do|Кому|Cc|Kopie|Subject|Betreff|Objet|Asunto|Oggetto|Onderwerp|Assunto|Ämne|Emne|Aihe|Temat|Předmět|Тема):\s*\S/i;
const SEPARATOR = /^(?:_{4,}|-{4,}|={4,}|\*{4,})$/;
const QUOTED = /^>/;
const NOTHING_WRITTEN = /^[\p{P}\p{S}\s]*$/u;

type Opener = "header" | "attribution" | "quote";

function openerAt(lines: readonly string[], i: number): Opener | undefined {
  const line = lines[i]!.trim();
  if (SEPARATOR_HEADINGS.some((r) => r.test(line))) return "header";
  if (AUTHOR_FIELD.test(line)) {
    const next = lines.slice(i + 1, i + 5).map((l) => l.trim());
    return next.some((l) => HEADER_FIELDS.test(l)) ? "header" : undefined;
  }
  if (ATTRIBUTIONS.some((r) => r.test(line))) return "attribution";
  // Gmail sometimes wraps "On … wrote:" over two lines.
  if (/^On\s.+/i.test(line) && line.length < 200 && /wrote:$/i.test(lines[i + 1]?.trim() ?? "")) return "attribution";
  if (QUOTED.test(line)) return "quote";
  return undefined;
}

/** Index after the last line the author wrote in an interleaved reply, or undefined if not interleaved. */
function interleavedEnd(lines: readonly string[], from: number): number | undefined {
  let seenQuote = false;
  let lastOwn: number | undefined;
  for (let i = from; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    if (QUOTED.test(line)) {
      seenQuote = true;
      continue;
    }
    if (i > from && openerAt(lines, i) === "header") break;
    if (seenQuote) lastOwn = i;
  }
  return lastOwn === undefined ? undefined : lastOwn + 1;
}

function trimTrailingSeparators(lines: string[]): string[] {
  let end = lines.length;
  while (end > 0 && (lines[end - 1]!.trim() === "" || SEPARATOR.test(lines[end - 1]!.trim()))) end--;
  return lines.slice(0, end);
}

export function stripQuotedReply(text: string): string {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  let end = lines.length;
  for (let i = 0; i < lines.length; i++) {
    const opener = openerAt(lines, i);
    if (!opener) continue;
    end = opener === "header" ? i : (interleavedEnd(lines, i) ?? i);
    break;
  }
  const reply = trimTrailingSeparators(lines.slice(0, end)).join("\n").trim();
  return NOTHING_WRITTEN.test(reply) ? text.trim() : reply;
}
