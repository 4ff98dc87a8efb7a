// IMAP with imapflow: one pooled, logged-in connection per mailbox (reused across jobs, replaced
// when it closes, closed when idle), UIDVALIDITY checked against the pointer, source fetched by UID.
import { ImapFlow } from "imapflow";
import { permanent, retryable, sourceUnavailable } from "../runtime/errors.ts";
import type { ImapCredentials } from "../runtime/handler.ts";
import type { JobOutcome, ResolveContext, Resolver } from "../runtime/resolver.ts";
import { singleMessage } from "./outcome.ts";

export interface ImapResolverOptions {
  timeoutMs: number;
  /** Close a pooled connection after this long without use. */
  idleMs?: number;
}

interface Pooled {
  client: ImapFlow;
  ready: Promise<void>;
  idleTimer?: NodeJS.Timeout;
  /** Jobs on one connection run one at a time (a mailbox lock is per connection). */
  queue: Promise<unknown>;
}

function authFailed(error: unknown): boolean {
  const e = error as { authenticationFailed?: boolean; serverResponseCode?: string; responseText?: string };
  return e.authenticationFailed === true || e.serverResponseCode === "AUTHENTICATIONFAILED" || /authenticat/i.test(e.responseText ?? "");
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(retryable(`${what}_timeout`, `${what}: no answer within ${ms} ms`)), ms);
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : retryable("aborted", `${what}: aborted`));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => (clearTimeout(timer), signal.removeEventListener("abort", onAbort), resolve(v)),
      (e: unknown) => (clearTimeout(timer), signal.removeEventListener("abort", onAbort), reject(e)),
    );
  });
}

export function createImapResolver(options: ImapResolverOptions): Resolver {
  const pool = new Map<string, Pooled>();
  const idleMs = options.idleMs ?? 5 * 60_000;

  const connection = (key: string, c: ImapCredentials): Pooled => {
    const existing = pool.get(key);
    if (existing?.client.usable) return existing;
    if (existing) pool.delete(key);
    const client = new ImapFlow({
      host: c.host,
      port: c.port,
      secure: c.secure,
      auth: c.accessToken ? { user: c.user, accessToken: c.accessToken } : { user: c.user, pass: c.password ?? "" },
      logger: false,
      disableAutoIdle: true,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: Math.max(options.timeoutMs * 4, 60_000),
    });
    client.on("error", () => undefined); // surfaces as a failed command; the pool drops closed clients
    client.on("close", () => {
      if (pool.get(key)?.client === client) pool.delete(key);
    });
    const pooled: Pooled = { client, ready: client.connect(), queue: Promise.resolve() };
    pooled.ready.catch(() => pool.delete(key));
    pool.set(key, pooled);
    return pooled;
  };

  const release = (key: string, pooled: Pooled) => {
    clearTimeout(pooled.idleTimer);
    pooled.idleTimer = setTimeout(() => {
      if (pool.get(key) === pooled) pool.delete(key);
      void pooled.client.logout().catch(() => undefined);
    }, idleMs);
    pooled.idleTimer.unref();
  };

  return {
    provider: "imap",
    async handle({ job, mailbox, directory, processor, signal }: ResolveContext): Promise<JobOutcome> {
      if (job.provider !== "imap") throw permanent("malformed_pointer", "not an IMAP job");
      if (mailbox.credentials.type !== "imap") throw permanent("provider_mismatch", "mailbox has no IMAP credentials");
      const credentials = mailbox.credentials;
      const { pointer } = job;
      const key = mailbox.providerId;
      const pooled = connection(key, credentials);
      const run = pooled.queue.then(async () => {
        try {
          await withTimeout(pooled.ready, options.timeoutMs, "imap_connect", signal);
        } catch (error) {
          if (authFailed(error)) throw permanent("imap_auth_failed", "the IMAP server refused the login");
          throw error instanceof Error && "disposition" in error ? error : retryable("imap_connect_failed", `cannot connect to ${credentials.host}:${credentials.port}: ${(error as Error).message}`, { cause: error });
        }
        const { client } = pooled;
        let source: Buffer | undefined;
        try {
          const lock = await withTimeout(client.getMailboxLock(pointer.mailbox, { readOnly: true }), options.timeoutMs, "imap_select", signal);
          try {
            const current = String(client.mailbox ? client.mailbox.uidValidity : "");
            if (current !== pointer.uidValidity) {
              await directory.updateCursors(mailbox.providerId, { needsResync: true });
              throw sourceUnavailable("imap_uidvalidity_changed", `UIDVALIDITY is ${current}, the pointer has ${pointer.uidValidity}`);
            }
            const message = await withTimeout(client.fetchOne(String(pointer.uid), { source: true, uid: true }, { uid: true }), options.timeoutMs, "imap_fetch", signal);
            if (!message || !message.source) throw sourceUnavailable("imap_message_not_found", `no message with UID ${pointer.uid} in ${pointer.mailbox}`);
            source = message.source;
          } finally {
            lock.release();
          }
        } catch (error) {
          if (error instanceof Error && "disposition" in error) throw error;
          throw retryable("imap_error", `IMAP failed: ${(error as Error).message}`, { cause: error });
        }
        return processor.process({ provider: "imap", tenantId: job.tenantId, providerId: job.providerId, providerMessageId: `${pointer.uidValidity}:${pointer.uid}`, raw: new Uint8Array(source) }, signal);
      });
      pooled.queue = run.catch(() => undefined);
      try {
        return singleMessage(await run);
      } catch (error) {
        if (!pooled.client.usable) pool.delete(key);
        throw error;
      } finally {
        if (pool.get(key) === pooled) release(key, pooled);
      }
    },
    async close() {
      const all = [...pool.values()];
      pool.clear();
      await Promise.all(all.map((p) => (clearTimeout(p.idleTimer), p.client.logout().catch(() => undefined))));
    },
  };
}
