// UTF-7 (RFC 2152), which TextDecoder does not know: old Outlook Express and some webmailers still
// label encoded words `=?utf-7?...?=`. Text is ASCII; `+` opens a run of modified base64 (no
// padding) holding UTF-16 big-endian code units, closed by `-` (absorbed) or by any character that
// is not base64 (kept); `+-` is a literal `+`.
const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const VALUE = new Map([...BASE64].map((c, i) => [c, i] as const));

export function decodeUtf7(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== "+") {
      out += c;
      i++;
      continue;
    }
    let j = i + 1;
    while (j < text.length && VALUE.has(text[j]!)) j++;
    if (j === i + 1) {
      // `+-` is a plus sign; a `+` followed by nothing base64 is kept as written.
      out += "+";
      i = text[j] === "-" ? j + 1 : j;
      continue;
    }
    out += decodeRun(text.slice(i + 1, j));
    i = text[j] === "-" ? j + 1 : j;
  }
  return out;
}

/** Modified base64 → UTF-16BE code units; leftover bits (fewer than 16) are padding. */
function decodeRun(run: string): string {
  let bits = 0;
  let bitCount = 0;
  let out = "";
  for (const c of run) {
    bits = ((bits << 6) | VALUE.get(c)!) & 0xffffff;
    bitCount += 6;
    if (bitCount >= 16) {
      bitCount -= 16;
      out += String.fromCharCode((bits >> bitCount) & 0xffff);
    }
  }
  return out;
}
