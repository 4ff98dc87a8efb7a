// HMAC-SHA256 request signatures from Inlet's IMAP listener (consumer/imap-listener/ingress-client.ts signs):
//   X-Inlet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256("<t>.<raw body>", IMAP_WEBHOOK_SECRET)>
// accepted within a 5-minute window; replays are refused by the ingest script (request guard).
// The header is checked in two steps so the route can refuse a malformed or stale header before
// it reads the body: `parseSignatureHeader`, then `verifyImapSignature` over the body.

export const SIGNATURE_WINDOW_SECONDS = 300;

export type SignatureCode = "missing_signature" | "malformed_signature" | "stale_signature" | "bad_signature";
export type SignatureHeader = { ok: true; t: number; mac: Uint8Array; hex: string } | { ok: false; code: SignatureCode };

const HEADER = /^t=(\d{1,12}),v1=([0-9a-fA-F]{64})$/;

export function parseSignatureHeader(header: string | undefined, nowSeconds: number): SignatureHeader {
  if (!header) return { ok: false, code: "missing_signature" };
  const match = HEADER.exec(header.replace(/\s+/g, ""));
  if (!match) return { ok: false, code: "malformed_signature" };
  const t = Number(match[1]);
  if (Math.abs(nowSeconds - t) > SIGNATURE_WINDOW_SECONDS) return { ok: false, code: "stale_signature" };
  const hex = match[2]!.toLowerCase();
  const mac = new Uint8Array(32);
  for (let i = 0; i < 32; i++) mac[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return { ok: true, t, mac, hex };
}

// The imported key, kept as a value (not a promise: a request may not await a promise another
// request created).
const keys = new Map<string, CryptoKey>();
async function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    keys.set(secret, key);
  }
  return key;
}

/** Constant-time check of the MAC over "<t>.<body bytes>". */
export async function verifyImapSignature(header: { t: number; mac: Uint8Array }, body: Uint8Array, secret: string): Promise<boolean> {
  const prefix = new TextEncoder().encode(`${header.t}.`);
  const signed = new Uint8Array(prefix.length + body.length);
  signed.set(prefix);
  signed.set(body, prefix.length);
  return crypto.subtle.verify("HMAC", await hmacKey(secret), header.mac, signed);
}
