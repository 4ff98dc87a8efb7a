// The reply without the history it quotes: cut at the first line that opens a quoted block in
// the styles mail clients use, and drop trailing `>` lines. The full text is kept elsewhere.
const OPENERS: RegExp[] = [
  /^-{2,}\s*Original Message\s*-{2,}\s*$/i, // Outlook (plain)
  /^-{2,}\s*(Urspr[üu]ngliche Nachricht|Message d'origine|Mensaje original|Messaggio originale)\s*-{2,}\s*$/i,
  /^_{10,}\s*$/, // Outlook separator line before From:/Sent:
  /^(From|Von|De|Da|Van):\s.+$/i, // Outlook header block ("From: … Sent: …") — checked with the next lines below
  /^On\s.+\swrote:\s*$/i, // Gmail, Apple Mail ("On Mon, 3 Mar 2026 at 10:02, Ann <ann@x> wrote:")
  /^Am\s.+\sschrieb\s.+:\s*$/i,
  /^Le\s.+\sa écrit\s*:\s*$/i,
  /^El\s.+\sescribió:\s*$/i,
  /^Il giorno\s.+\sha scritto:\s*$/i,
  /^Op\s.+\sschreef\s.+:\s*$/i,
  /^>/, // plain quoting
];

const OUTLOOK_FIELDS = /^(Sent|Gesendet|Envoyé|Enviado|Inviato|Verzonden|Date|To|An|À|Para|A|Aan|Subject|Betreff|Objet|Asunto|Oggetto|Onderwerp):\s/i;

function opensQuote(lines: string[], i: number): boolean {
  const line = lines[i]!.trim();
  for (const opener of OPENERS) {
    if (!opener.test(line)) continue;
    if (/^(From|Von|De|Da|Van):/i.test(line)) {
      // A "From:" line starts a quote only when header-like lines follow, as in Outlook replies.
      const next = lines.slice(i + 1, i + 4).map((l) => l.trim());
      return next.some((l) => OUTLOOK_FIELDS.test(l));
    }
    return true;
  }
  // Gmail sometimes wraps "On … wrote:" over two lines.
  return /^On\s.+/i.test(line) && /wrote:\s*$/i.test(lines[i + 1]?.trim() ?? "") && line.length < 200;
}

export function stripQuotedReply(text: string): string {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  let end = lines.length;
  for (let i = 0; i < lines.length; i++) {
    if (opensQuote(lines, i)) {
      end = i;
      break;
    }
  }
  const reply = lines.slice(0, end).join("\n").trim();
  // A message that is nothing but a quote (a forward without comment) keeps its text.
  return reply === "" ? text.trim() : reply;
}
