// IMAP with imapflow. A message's identity is (mailbox, UIDVALIDITY, UID):
//   - UIDVALIDITY differs from the pointer's → the UID means nothing any more: skip
//     source_unavailable:imap_uidvalidity_changed and flag the mailbox `needsResync`
//   - no message with that UID (expunged) → skip source_unavailable:imap_message_not_found
//   - login refused → imap_auth_failed (permanent)
//   - connection refused or lost, a step slower than the timeout → retry
//   - found → the exact source bytes go to processing (providerMessageId = `${uidValidity}:${uid}`)
// Connections are pooled per mailbox (see ./imap-pool.ts); each job selects the folder afresh
// (EXAMINE, read-only) and unselects it when done, and the connection is released before
// processing, so a slow database does not hold the mailbox's connection.
import { createHash } from "node:crypto";
import { InletError, permanent, retryable, sourceUnavailable } from "../domain/errors.ts";
import type { ImapCredentials } from "../domain/mailbox.ts";
import { singleMessage, type JobOutcome } from "../domain/job.ts";
import type { ResolveContext, Resolver } from "./resolver.ts";
import { ImapPool, type PooledConnection } from "./imap-pool.ts";

export interface ImapResolverOptions {
  /** Bound on each step: connect and login, select, fetch. */
  timeoutMs: number;
  /** Close a pooled connection after this long without use (default 5 minutes). */
  idleMs?: number;
}

function authFailed(error: unknown): boolean {
  const e = error as { authenticationFailed?: boolean; serverResponseCode?: string };
  return e.authenticationFailed === true || e.serverResponseCode === "AUTHENTICATIONFAILED";
}

/** Waits for `promise` at most `ms`, and no longer than the job's signal allows. */
function step<T>(promise: Promise<T>, ms: number, what: string, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = () => (clearTimeout(timer), signal.removeEventListener("abort", onAbort));
    const timer = setTimeout(() => (done(), reject(retryable(`${what}_timeout`, `${what}: no answer within ${ms} ms`))), ms);
    const onAbort = () => (done(), reject(signal.reason instanceof Error ? signal.reason : retryable("aborted", `${what}: aborted`)));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => (done(), resolve(value)),
      (error: unknown) => (done(), reject(error)),
    );
  });
}

const connectionKey = (providerId: string, c: ImapCredentials) =>
  `${providerId}:${createHash("sha256").update([c.host, c.port, c.secure, c.user, c.password ?? "", c.accessToken ?? ""].join("\u0000")).digest("base64url")}`;

export function createImapResolver(options: ImapResolverOptions): Resolver<"imap"> {
  const pool = new ImapPool({ timeoutMs: options.timeoutMs, idleMs: options.idleMs ?? 5 * 60_000 });

  /** Connect (or reuse), select the folder read-only, check UIDVALIDITY, fetch the source. */
  const fetchSource = async (connection: PooledConnection, context: ResolveContext<"imap">): Promise<Buffer> => {
    const { job, mailbox, directory, signal } = context;
    const { pointer } = job;
    try {
      await step(connection.ready, options.timeoutMs, "imap_connect", signal);
    } catch (error) {
      if (authFailed(error)) throw permanent("imap_auth_failed", "the IMAP server refused the login", { cause: error });
      if (error instanceof InletError) throw error;
      throw retryable("imap_connect_failed", `cannot connect to the IMAP server: ${(error as Error).message}`, { cause: error });
    }
    const { client } = connection;
    const lock = await step(client.getMailboxLock(pointer.mailbox, { readOnly: true }), options.timeoutMs, "imap_select", signal);
    try {
      const current = client.mailbox ? String(client.mailbox.uidValidity) : "";
      if (current !== pointer.uidValidity) {
        await directory.updateCursors(mailbox.providerId, { needsResync: true });
        throw sourceUnavailable("imap_uidvalidity_changed", `UIDVALIDITY of ${pointer.mailbox} is ${current}, the pointer has ${pointer.uidValidity}`);
      }
      const message = await step(client.fetchOne(String(pointer.uid), { uid: true, source: true }, { uid: true }), options.timeoutMs, "imap_fetch", signal);
      if (!message || !message.source) throw sourceUnavailable("imap_message_not_found", `no message with UID ${pointer.uid} in ${pointer.mailbox}`);
      return message.source;
    } finally {
      // Unselect, so that the next job's EXAMINE sees the folder as it is then: a session that
      // stays selected does not learn of mail delivered since (a UID FETCH of it finds nothing)
      // nor of a new UIDVALIDITY. If unselecting fails, the connection is not trusted again.
      await step(client.mailboxClose(), options.timeoutMs, "imap_unselect", signal).catch(() => client.close());
      lock.release();
    }
  };

  return {
    provider: "imap",
    async handle(context: ResolveContext<"imap">): Promise<JobOutcome> {
      const { job, mailbox, processor, signal } = context;
      const { pointer } = job;

      let source: Buffer;
      try {
        source = await pool.use(connectionKey(mailbox.providerId, mailbox.credentials), mailbox.credentials, (connection) => fetchSource(connection, context));
      } catch (error) {
        if (error instanceof InletError) throw error;
        if (authFailed(error)) throw permanent("imap_auth_failed", "the IMAP server refused the login", { cause: error });
        // A dropped connection, a NO/BAD from a server in trouble, a socket error: all transient.
        throw retryable("imap_error", `IMAP failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      const outcome = await processor.process({ provider: "imap", tenantId: job.tenantId, providerId: job.providerId, providerMessageId: `${pointer.uidValidity}:${pointer.uid}`, raw: new Uint8Array(source) }, signal);
      return singleMessage(outcome);
    },
    close: () => pool.close(),
  };
}
