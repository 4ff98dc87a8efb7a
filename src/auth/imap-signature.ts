// HMAC-SHA256 request signatures from Inlet's IMAP listener (consumer/imap-listener/ingress-client.ts signs):
//   X-Inlet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256("<t>.<raw body>", IMAP_WEBHOOK_SECRET)>
// accepted within a 5-minute window; replays are refused by the ingest script (request guard).

export const SIGNATURE_WINDOW_SECONDS = 300;

export type SignatureCheck = { ok: true; signature: string } | { ok: false; code: "missing_signature" | "malformed_signature" | "stale_signature" | "bad_signature" };

function hexToBytes(hex: string): Uint8Array | undefined {
  if (!/^[0-9a-f]{64}$/i.test(hex)) return undefined;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export async function verifyImapSignature(header: string | undefined, body: string, secret: string, nowSeconds: number): Promise<SignatureCheck> {
  if (!header) return { ok: false, code: "missing_signature" };
  const parts = Object.fromEntries(header.split(",").map((p) => p.trim().split("=", 2) as [string, string]));
  const t = Number(parts.t);
  const mac = parts.v1 ? hexToBytes(parts.v1) : undefined;
  if (!Number.isInteger(t) || !mac) return { ok: false, code: "malformed_signature" };
  if (Math.abs(nowSeconds - t) > SIGNATURE_WINDOW_SECONDS) return { ok: false, code: "stale_signature" };
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const valid = await crypto.subtle.verify("HMAC", key, mac, new TextEncoder().encode(`${t}.${body}`));
  return valid ? { ok: true, signature: parts.v1!.toLowerCase() } : { ok: false, code: "bad_signature" };
}
