// IMAP with imapflow. A message's identity is (mailbox, UIDVALIDITY, UID):
//   - UIDVALIDITY differs from the pointer's → the UID means nothing any more: skip
//     source_unavailable:imap_uidvalidity_changed and flag the mailbox `needsResync`
//   - no message with that UID (expunged) → skip source_unavailable:imap_message_not_found
//   - login refused → imap_auth_failed (the grant is lost: the mailbox needs re-authorisation);
//     with OAuth2 (XOAUTH2), a token endpoint that refuses the grant likewise
//   - connection refused or lost, a step slower than the timeout → retry
//   - found → the exact source bytes go to processing (providerMessageId = `${uidValidity}:${uid}`);
//     the FETCH asks for the size and at most limit + 1 bytes of the source, so a message over the
//     limit costs no more memory than the limit and is recorded as too large
// Connections are pooled per mailbox (see ./imap-pool.ts); each job selects the folder afresh
// (EXAMINE, read-only) and unselects it when done, and the connection is released before
// processing, so a slow database does not hold the mailbox's connection.
import { createHash } from "node:crypto";
import type { ImapTokenSource } from "../auth/imap.ts";
import { authorisationLost, InletError, retryable, sourceUnavailable } from "../domain/errors.ts";
import type { ImapCredentials } from "../domain/mailbox.ts";
import { singleMessage, type JobOutcome } from "../domain/job.ts";
import { fetched } from "./fetched.ts";
import type { ResolveContext, Resolver } from "./resolver.ts";
import { ImapPool, type PooledConnection } from "./imap-pool.ts";
import { imapAuthRefused as authFailed } from "./imap-connection.ts";

export interface ImapResolverOptions {
  /** Bound on each step: connect and login, select, fetch. */
  timeoutMs: number;
  /** Larger messages are not downloaded whole (processing records them as too large). */
  maxMessageBytes: number;
  /** Close a pooled connection after this long without use (default 30 s: long enough for a
   * burst to one mailbox, short enough that a replica watching thousands of mailboxes does not
   * keep a second connection open beside each watcher). */
  idleMs?: number;
  /** Access tokens for mailboxes that log in by OAuth2. */
  tokens?: ImapTokenSource;
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

/** One pooled connection per mailbox and credentials: new credentials get a new connection. */
const connectionKey = (providerId: string, c: ImapCredentials) => `${providerId}:${createHash("sha256").update(JSON.stringify(c)).digest("base64url")}`;

export function createImapResolver(options: ImapResolverOptions): Resolver<"imap"> {
  const pool = new ImapPool({ timeoutMs: options.timeoutMs, idleMs: options.idleMs ?? 30_000, ...(options.tokens ? { tokens: options.tokens } : {}) });

  /** Connect (or reuse), select the folder read-only, check UIDVALIDITY, fetch the source. */
  const fetchSource = async (connection: PooledConnection, context: ResolveContext<"imap">): Promise<{ bytes: Uint8Array } | { tooLarge: number }> => {
    const { job, mailbox, directory, signal } = context;
    const { pointer } = job;
    let client;
    try {
      client = await step(connection.ready, options.timeoutMs, "imap_connect", signal);
    } catch (error) {
      if (authFailed(error)) throw authorisationLost("imap_auth_failed", "the IMAP server refused the login", { cause: error });
      if (error instanceof InletError) throw error;
      throw retryable("imap_connect_failed", `cannot connect to the IMAP server: ${(error as Error).message}`, { cause: error });
    }
    const lock = await step(client.getMailboxLock(pointer.mailbox, { readOnly: true }), options.timeoutMs, "imap_select", signal);
    try {
      const current = client.mailbox ? String(client.mailbox.uidValidity) : "";
      if (current !== pointer.uidValidity) {
        await directory.updateCursors(mailbox.providerId, { needsResync: true });
        throw sourceUnavailable("imap_uidvalidity_changed", `UIDVALIDITY of ${pointer.mailbox} is ${current}, the pointer has ${pointer.uidValidity}`);
      }
      const query = { uid: true, size: true, source: { maxLength: options.maxMessageBytes + 1 } };
      const message = await step(client.fetchOne(String(pointer.uid), query, { uid: true }), options.timeoutMs, "imap_fetch", signal);
      if (!message || !message.source) throw sourceUnavailable("imap_message_not_found", `no message with UID ${pointer.uid} in ${pointer.mailbox}`);
      const size = message.size ?? message.source.byteLength;
      return size > options.maxMessageBytes ? { tooLarge: size } : { bytes: new Uint8Array(message.source) };
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

      let body: { bytes: Uint8Array } | { tooLarge: number };
      try {
        body = await pool.use(connectionKey(mailbox.providerId, mailbox.credentials), mailbox.credentials, (connection) => fetchSource(connection, context));
      } catch (error) {
        if (error instanceof InletError) throw error;
        if (authFailed(error)) throw authorisationLost("imap_auth_failed", "the IMAP server refused the login", { cause: error });
        // A dropped connection, a NO/BAD from a server in trouble, a socket error: all transient.
        throw retryable("imap_error", `IMAP failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      const outcome = await processor.process({ provider: "imap", tenantId: job.tenantId, providerId: job.providerId, providerMessageId: `${pointer.uidValidity}:${pointer.uid}`, ...fetched(body) }, signal);
      return singleMessage(outcome);
    },
    close: () => pool.close(),
  };
}
