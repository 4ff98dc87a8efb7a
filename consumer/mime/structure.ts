// Where each MIME part lies in the raw bytes and what it is, without decoding any body. postal-mime
// gives the decoded message but not where a part sits: the delivery-status part of a bounce and
// the same part inside a bounce that a person forwards inline (message/rfc822) come out alike in
// its attachment list, and header bytes reach us already decoded as UTF-8. This walk answers both:
// which parts belong to the message itself (`embedded: false`), and where their header sections are.
// It runs only when a message needs it (report parts present, or header bytes to repair).

export interface MimePart {
  /** Lower-cased `type/subtype`; `text/plain` when the part declares none. */
  contentType: string;
  boundary: string | undefined;
  /** `report-type` of a multipart/report, lower-cased. */
  reportType: string | undefined;
  /** Lower-cased Content-Transfer-Encoding, `7bit` when absent. */
  transferEncoding: string;
  /** Lower-cased Content-Disposition value (`inline`, `attachment`), undefined when absent. */
  disposition: string | undefined;
  /** Inside a message this one carries (message/rfc822, message/global), not part of it. */
  embedded: boolean;
  depth: number;
  /** Byte offsets: the header lines are [headerStart, headerEnd), the body [bodyStart, bodyEnd). */
  headerStart: number;
  headerEnd: number;
  bodyStart: number;
  bodyEnd: number;
}

// A message controls how many parts and how deep they nest; past these the walk stops (what it
// found so far stays valid). Real mail stays far below: a few dozen parts, depth under ten.
const MAX_PARTS = 1000;
const MAX_DEPTH = 64;

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;
const latin1 = new TextDecoder("latin1");

interface Frame {
  boundary: string;
  part: MimePart;
  index: number;
}

/** Lines of a header section, unfolded, as `name: value` strings (ASCII-safe decoding). */
function unfold(raw: Uint8Array, start: number, end: number): string[] {
  const fields: string[] = [];
  for (const line of latin1.decode(raw.subarray(start, end)).split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length > 0) fields[fields.length - 1] += line;
    else if (line !== "") fields.push(line);
  }
  return fields;
}

function param(value: string, name: string): string | undefined {
  const match = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^\\s;]+))`, "i").exec(value);
  return match ? (match[1] ?? match[2]) : undefined;
}

export function scanStructure(raw: Uint8Array): MimePart[] {
  const parts: MimePart[] = [];
  const frames: Frame[] = [];
  const length = raw.length;

  const lineEndOf = (pos: number) => {
    const lf = raw.indexOf(LF, pos);
    return lf < 0 ? length : lf;
  };

  /** A boundary line of an open multipart: which frame, and whether it closes it. */
  const boundaryAt = (pos: number, end: number): { frame: number; closing: boolean } | undefined => {
    if (frames.length === 0 || raw[pos] !== DASH || raw[pos + 1] !== DASH) return undefined;
    const line = latin1.decode(raw.subarray(pos + 2, end)).trimEnd();
    for (let i = frames.length - 1; i >= 0; i--) {
      const b = frames[i]!.boundary;
      if (line === b) return { frame: i, closing: false };
      if (line === `${b}--`) return { frame: i, closing: true };
    }
    return undefined;
  };

  const readPart = (start: number, depth: number, embedded: boolean): MimePart => {
    let pos = start;
    let headerEnd = length;
    let bodyStart = length;
    while (pos < length) {
      const end = lineEndOf(pos);
      const contentEnd = end > pos && raw[end - 1] === CR ? end - 1 : end;
      if (contentEnd === pos) {
        headerEnd = pos;
        bodyStart = Math.min(end + 1, length);
        break;
      }
      if (boundaryAt(pos, contentEnd)) {
        // A part whose headers run straight into the next boundary: no body.
        headerEnd = bodyStart = pos;
        break;
      }
      pos = end + 1;
    }
    let contentType = "text/plain";
    let contentTypeValue = "";
    let transferEncoding = "7bit";
    let disposition: string | undefined;
    for (const field of unfold(raw, start, headerEnd)) {
      const colon = field.indexOf(":");
      if (colon < 0) continue;
      const name = field.slice(0, colon).trim().toLowerCase();
      const value = field.slice(colon + 1).trim();
      if (name === "content-type" && !contentTypeValue) {
        contentTypeValue = value;
        contentType = value.split(";")[0]!.trim().toLowerCase() || "text/plain";
      } else if (name === "content-transfer-encoding") {
        transferEncoding = value.toLowerCase();
      } else if (name === "content-disposition" && disposition === undefined) {
        disposition = value.split(";")[0]!.trim().toLowerCase();
      }
    }
    const multipart = contentType.startsWith("multipart/");
    return {
      contentType,
      boundary: multipart ? param(contentTypeValue, "boundary") : undefined,
      reportType: contentType === "multipart/report" ? param(contentTypeValue, "report-type")?.toLowerCase() : undefined,
      transferEncoding,
      disposition,
      embedded,
      depth,
      headerStart: start,
      headerEnd,
      bodyStart,
      bodyEnd: -1,
    };
  };

  /** Record a part; open its boundary, or read the header section of the message it carries. */
  const enter = (part: MimePart): number => {
    parts.push(part);
    if (part.depth >= MAX_DEPTH || parts.length >= MAX_PARTS) return part.bodyStart;
    if (part.boundary) {
      frames.push({ boundary: part.boundary, part, index: parts.length - 1 });
      return part.bodyStart;
    }
    const carriesMessage = part.contentType === "message/rfc822" || part.contentType === "message/global";
    if (carriesMessage && !["base64", "quoted-printable"].includes(part.transferEncoding)) {
      return enter(readPart(part.bodyStart, part.depth + 1, true));
    }
    return part.bodyStart;
  };

  const closeAfter = (index: number, cut: number) => {
    for (let i = index + 1; i < parts.length; i++) if (parts[i]!.bodyEnd < 0) parts[i]!.bodyEnd = cut;
  };

  let pos = enter(readPart(0, 0, false));
  while (pos < length && parts.length < MAX_PARTS) {
    const end = lineEndOf(pos);
    const hit = boundaryAt(pos, end > pos && raw[end - 1] === CR ? end - 1 : end);
    const next = end + 1;
    if (!hit) {
      pos = next;
      continue;
    }
    // The line break before a boundary belongs to the boundary (RFC 2046 5.1.1).
    const cut = pos >= 2 && raw[pos - 2] === CR ? pos - 2 : Math.max(pos - 1, 0);
    const frame = frames[hit.frame]!;
    closeAfter(frame.index, cut);
    frames.length = hit.frame + 1;
    if (hit.closing) {
      frames.pop();
      pos = next;
      continue;
    }
    pos = enter(readPart(Math.min(next, length), frame.part.depth + 1, frame.part.embedded));
  }
  for (const part of parts) if (part.bodyEnd < 0) part.bodyEnd = length;
  return parts;
}
