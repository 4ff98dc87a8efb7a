// The console's sign-in and sessions.
//   - The admin token is compared in constant time (both sides hashed first, so neither its
//     length nor its content leaks through timing); a wrong one is answered after a delay.
//   - A session is a cookie `inlet_console=<expiry>.<csrf>.<mac>`: HttpOnly, SameSite=Strict,
//     Path=/console, Secure when the request came over HTTPS. The MAC is HMAC-SHA256 under a key
//     derived from the admin token, so every replica accepts the same session, and changing the
//     token signs every session out. It carries no secret: the CSRF token in it is random.
//   - Every action is a POST whose form carries that CSRF token (`csrf`); a form without it, or
//     with another session's, is refused with 403.
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const SESSION_COOKIE = "inlet_console";
export const DEFAULT_SESSION_MS = 8 * 3600_000;
export const DEFAULT_REFUSAL_DELAY_MS = 1_000;

export interface Session {
  expiresAt: number;
  csrf: string;
}

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/** Whether `given` is the admin token, in time that depends on neither. */
export function tokenMatches(given: string, token: string): boolean {
  return timingSafeEqual(digest(given), digest(token));
}

function equalText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class ConsoleSessions {
  readonly #key: Buffer;
  readonly #ttlMs: number;

  constructor(adminToken: string, ttlMs = DEFAULT_SESSION_MS) {
    this.#key = createHmac("sha256", adminToken).update("inlet console session v1").digest();
    this.#ttlMs = ttlMs;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  #mac(payload: string): string {
    return createHmac("sha256", this.#key).update(payload).digest("base64url");
  }

  /** A new session and its cookie value. */
  issue(now = Date.now()): { session: Session; cookie: string } {
    const session = { expiresAt: now + this.#ttlMs, csrf: randomBytes(24).toString("base64url") };
    const payload = `${session.expiresAt}.${session.csrf}`;
    return { session, cookie: `${payload}.${this.#mac(payload)}` };
  }

  /** The session a cookie carries: `expired` past its time, `invalid` when it is not one of ours. */
  read(cookie: string | undefined, now = Date.now()): { status: "valid"; session: Session } | { status: "expired" | "invalid" | "none" } {
    if (!cookie) return { status: "none" };
    const parts = cookie.split(".");
    if (parts.length !== 3) return { status: "invalid" };
    const [expiry, csrf, mac] = parts as [string, string, string];
    if (!/^\d{1,15}$/.test(expiry) || !/^[A-Za-z0-9_-]{16,64}$/.test(csrf)) return { status: "invalid" };
    if (!equalText(mac, this.#mac(`${expiry}.${csrf}`))) return { status: "invalid" };
    const expiresAt = Number(expiry);
    if (expiresAt <= now) return { status: "expired" };
    return { status: "valid", session: { expiresAt, csrf } };
  }

  /** Whether a form's CSRF token is the session's. */
  csrfMatches(session: Session, given: unknown): boolean {
    return typeof given === "string" && equalText(given, session.csrf);
  }
}
