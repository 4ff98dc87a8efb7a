// Constant-time comparison of two strings with Web Crypto: both are HMAC'd with a fresh random
// key and the MACs compared by crypto.subtle.verify, which does not short-circuit.
export async function timingSafeEqualText(a: string, b: string): Promise<boolean> {
  const key = (await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"])) as CryptoKey;
  const encoder = new TextEncoder();
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(a));
  return crypto.subtle.verify("HMAC", key, mac, encoder.encode(b));
}
