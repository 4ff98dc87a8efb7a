// The Authentication-Results header field (RFC 8601): who checked (authserv-id) and each method's
// result, e.g.
//   mx.google.com; dkim=pass header.i=@x.example header.s=s1; spf=pass (google.com: …) smtp.mailfrom=a@x.example;
//     dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=x.example
// Microsoft 365 writes it without an authserv-id and with its own extras:
//   spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=x.example; dkim=none (message not signed)
//     header.d=none;dmarc=fail action=quarantine header.from=x.example;compauth=fail reason=000
// and older Exchange Online put bare domain segments between results (`…; contoso.com; dkim=…`),
// which are skipped. Comments nest and may hold `;` and `=`; values may be quoted strings.
// (mailauth parses this header too, but only inside its private DKIM/ARC code, and it needs
// Node >= 22.19 and ten runtime dependencies; this is the part Inlet needs.)

export interface MethodResult {
  /** Lower-cased method: spf, dkim, dmarc, arc, compauth, … */
  method: string;
  /** Lower-cased result: pass, fail, softfail, none, neutral, temperror, permerror, … */
  result: string;
  reason: string | undefined;
  /** `ptype.property` → value (lower-cased keys), plus any other key=value the stamp carries. */
  properties: Record<string, string>;
}

export interface AuthenticationResults {
  /** Lower-cased; undefined when the header starts with a result (Microsoft 365's style). */
  authservId: string | undefined;
  results: MethodResult[];
}

/** The value with comments removed (nested, with quoted-pairs), quoted strings left as they are. */
function withoutComments(value: string): string {
  let out = "";
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === "\\" && (quoted || depth > 0)) {
      if (depth === 0) out += c + (value[i + 1] ?? "");
      i++;
    } else if (depth > 0) {
      if (c === "(") depth++;
      else if (c === ")") depth--;
      if (depth === 0) out += " ";
    } else if (quoted) {
      out += c;
      if (c === '"') quoted = false;
    } else if (c === '"') {
      out += c;
      quoted = true;
    } else if (c === "(") {
      depth = 1;
    } else {
      out += c;
    }
  }
  return out;
}

/** Split on a separator outside quoted strings; quotes are removed from the pieces unless kept. */
function split(value: string, separator: RegExp, keepQuotes = false): string[] {
  const pieces: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted) {
      if (c === "\\") current += (keepQuotes ? c : "") + (value[++i] ?? "");
      else if (c === '"') {
        quoted = false;
        if (keepQuotes) current += c;
      } else current += c;
    } else if (c === '"') {
      quoted = true;
      if (keepQuotes) current += c;
    } else if (separator.test(c)) {
      pieces.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  pieces.push(current);
  return pieces.map((p) => p.trim()).filter((p) => p !== "");
}

function resinfo(segment: string): MethodResult | undefined {
  const tokens = split(segment, /\s/);
  const first = /^([A-Za-z0-9_.-]+)(?:\/\d+)?=(\S+)$/.exec(tokens[0] ?? "");
  if (!first) return undefined;
  const properties: Record<string, string> = {};
  let reason: string | undefined;
  for (const token of tokens.slice(1)) {
    const eq = token.indexOf("=");
    if (eq <= 0) continue;
    const key = token.slice(0, eq).toLowerCase();
    const value = token.slice(eq + 1);
    if (key === "reason") reason = value;
    else if (!(key in properties)) properties[key] = value;
  }
  return { method: first[1]!.toLowerCase(), result: first[2]!.toLowerCase(), reason, properties };
}

export function parseAuthenticationResults(value: string): AuthenticationResults {
  const segments = split(withoutComments(value).replace(/\r?\n/g, " "), /;/, true);
  let authservId: string | undefined;
  const head = segments[0];
  if (head !== undefined && !head.includes("=")) {
    authservId = head.split(/\s+/)[0]!.toLowerCase();
    segments.shift();
  }
  const results = segments.map(resinfo).filter((r): r is MethodResult => r !== undefined);
  return { authservId, results };
}
