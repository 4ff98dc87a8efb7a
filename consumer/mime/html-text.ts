// HTML mail as plain text, through html-to-text (maintained, Node >= 20.19): every named and
// numeric entity decoded; head, title, style and script dropped; block elements, <br>, lists and
// tables as readable lines; link targets kept after the link text. Compiled once: compiling the
// selectors costs far more than converting a small mail.
import { compile, type FormatCallback } from "html-to-text";

/** An image is its alt text (logos and spacers without one vanish; `cid:` sources mean nothing in text). */
const imageAlt: FormatCallback = (elem, _walk, builder) => {
  const alt = elem.attribs?.alt?.trim();
  if (alt) builder.addInline(alt);
};

const convert = compile({
  // Mail bodies keep the author's line lengths; a comment is not an 80-column terminal.
  wordwrap: false,
  formatters: { imageAlt },
  selectors: [
    { selector: "head", format: "skip" },
    { selector: "title", format: "skip" },
    { selector: "style", format: "skip" },
    { selector: "script", format: "skip" },
    { selector: "img", format: "imageAlt" },
    { selector: "a", options: { hideLinkHrefIfSameAsText: true, noAnchorUrl: true } },
    { selector: "h1", options: { uppercase: false } },
    { selector: "h2", options: { uppercase: false } },
    { selector: "h3", options: { uppercase: false } },
    { selector: "h4", options: { uppercase: false } },
    { selector: "h5", options: { uppercase: false } },
    { selector: "h6", options: { uppercase: false } },
    // Every table as rows of cells: layout tables of one cell collapse to their content, real
    // tables (an order, a price list) keep their columns.
    { selector: "table", format: "dataTable", options: { uppercaseHeaderCells: false } },
  ],
});

export function htmlToText(html: string): string {
  return convert(html)
    // &nbsp; is layout, not content: agents search and quote the text with ordinary spaces.
    .replace(/\u00a0/g, " ")
    .replace(/[ \t]+$/gm, "")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
