// Watches one IMAP mailbox: IDLE (re-issued every few minutes, well inside the 29-minute limit),
// and on every `exists` event, every (re)connect and every reconciliation interval (a sweep:
// what IDLE should have announced) posts the UIDs above the stored cursor to the ingress in
// batches. The cursor moves only after the ingress accepted a batch, so a crash
// or an ingress outage re-sends rather than skips. A UIDVALIDITY change resets the cursor and
// re-sends the whole folder (processing is idempotent by Message-ID): no silent loss.
// A mailbox that logs in by OAuth2 (XOAUTH2) logs in again, with a fresh token, shortly before
// the session's token expires: servers such as Exchange Online end sessions whose token has
// expired, and a reconnection with the old token would be refused. The new session catches up
// from the cursor, so nothing that arrived in between is missed. A login the server (or the
// token endpoint) refuses marks the mailbox as needing re-authorisation and ends the watch.
import { ImapFlow } from "imapflow";
import type { ImapTokenSource } from "../auth/imap.ts";
import { InletError, isAuthorisationLost } from "../domain/errors.ts";
import type { ImapCredentials, MailboxDirectory, MailboxRecord } from "../domain/mailbox.ts";
import type { Logger } from "../runtime/log.ts";
import type { ImapNotification } from "./ingress-client.ts";
import { imapAuthRefused, imapLogin } from "../resolvers/imap-connection.ts";
import { NOTIFICATION_GRACE_MS, type SweepReport } from "../reconcile/sweep.ts";

export interface WatcherOptions {
  mailbox: MailboxRecord;
  directory: MailboxDirectory;
  notify(notification: ImapNotification): Promise<void>;
  log: Logger;
  batchSize?: number;
  /** How often IDLE is broken and re-issued. */
  idleRestartMs?: number;
  /** How often to catch up without an `exists` event (the reconciliation sweep; jittered ±10%). */
  reconcileMs?: number;
  maxReconnectDelayMs?: number;
  /** Access tokens, for a mailbox that logs in by OAuth2. */
  tokens?: ImapTokenSource;
  /** Told of every sweep's report (metrics). */
  onSweep?: (report: SweepReport) => void;
}

/** How long stop() waits for the server to answer LOGOUT before closing the connection. */
const STOP_PATIENCE_MS = 2_000;

/** How a session ended: the connection closed (reconnect after a delay), the token was due for
 * renewal (log in again at once), or the grant was refused (stop watching). */
type SessionEnd = "closed" | "renew" | "refused";

export class MailboxWatcher {
  readonly providerId: string;
  readonly #o: Required<Omit<WatcherOptions, "tokens" | "onSweep">> & Pick<WatcherOptions, "tokens" | "onSweep">;
  readonly #credentials: ImapCredentials;
  #client: ImapFlow | undefined;
  #stopped = false;
  #catchUp: Promise<void> = Promise.resolve();
  #pending = false;
  /** Whether the pending catch-up was asked for by the sweep timer alone. */
  #pendingSweep = false;
  #loop: Promise<void> | undefined;
  /** Resolves the wait between reconnects early when stopping. */
  #wakeUp: (() => void) | undefined;
  #refused = false;

  constructor(options: WatcherOptions) {
    if (options.mailbox.credentials.type !== "imap") throw new TypeError(`provider ${options.mailbox.providerId} is not an IMAP mailbox`);
    this.#credentials = options.mailbox.credentials;
    this.providerId = options.mailbox.providerId;
    this.#o = { batchSize: 500, idleRestartMs: 5 * 60_000, reconcileMs: 5 * 60_000, maxReconnectDelayMs: 60_000, ...options };
  }

  /** Set once the server or the token endpoint refused the grant: the watch has ended. */
  get refused(): boolean {
    return this.#refused;
  }

  get folder(): string {
    return this.#credentials.folder ?? "INBOX";
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wakeUp?.();
    const client = this.#client;
    if (client) {
      // A polite LOGOUT, but not waited for long: a busy server must not hold up a hand-over.
      const patience = new Promise<void>((resolve) => setTimeout(resolve, STOP_PATIENCE_MS).unref());
      await Promise.race([client.logout().catch(() => undefined), patience]);
      client.close();
    }
    await this.#loop;
    // A catch-up under way finishes (or fails) first, so its cursor is stored before the lease is
    // given back and the next watcher starts from it.
    await this.#catchUp;
  }

  async #run(): Promise<void> {
    let delay = 500;
    while (!this.#stopped) {
      let end: SessionEnd = "closed";
      try {
        end = await this.#session();
        delay = 500;
      } catch (error) {
        if (isAuthorisationLost(error) || imapAuthRefused(error)) end = "refused";
        else this.#o.log.warn({ event: "imap_listener_error", providerId: this.providerId, err: error }, "IMAP watch failed; reconnecting");
        if (end === "refused") await this.#markRefused(error);
      }
      if (this.#stopped || end === "refused") break;
      if (end === "renew") continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wakeUp = () => (clearTimeout(timer), resolve());
      });
      delay = Math.min(this.#o.maxReconnectDelayMs, delay * 2);
    }
  }

  async #markRefused(error: unknown): Promise<void> {
    this.#refused = true;
    const reason = error instanceof InletError ? error.code : "imap_auth_failed";
    const marked = await this.#o.directory.markNeedsReauthorisation(this.providerId, reason).catch(() => false);
    if (marked) this.#o.log.warn({ event: "inbound_email_mailbox_needs_reauthorisation", providerId: this.providerId, kind: "imap", reason }, "the IMAP login was refused: the mailbox needs re-authorisation (connect it again)");
  }

  /** One connection: connect, select, catch up, then follow `exists` events until it closes. */
  async #session(): Promise<SessionEnd> {
    const login = await imapLogin(this.#credentials, this.#o.tokens);
    const client = new ImapFlow({
      ...login.options,
      maxIdleTime: this.#o.idleRestartMs,
      autoIdleDelay: 500,
    });
    this.#client = client;
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    client.on("error", (error: unknown) => this.#o.log.warn({ event: "imap_listener_connection_error", providerId: this.providerId, err: error }, "IMAP connection error"));
    await client.connect();
    let renewing = false;
    const renewTimer = login.renewAt === undefined ? undefined : setTimeout(() => {
      renewing = true;
      this.#o.log.info({ event: "imap_listener_token_renewal", providerId: this.providerId }, "the session's access token is due for renewal: logging in again");
      void client.logout().catch(() => client.close());
    }, Math.max(0, login.renewAt - Date.now()));
    try {
      await client.mailboxOpen(this.folder, { readOnly: true });
      client.on("exists", () => void this.#scheduleCatchUp(client));
      this.#o.log.info({ event: "imap_listener_watching", providerId: this.providerId, folder: this.folder }, "watching mailbox");
      await this.#scheduleCatchUp(client);
      // The sweep timer lives as long as this connection.
      let open = true;
      let sweepTimer: NodeJS.Timeout | undefined;
      const sweep = () => {
        if (open) sweepTimer = setTimeout(() => void this.#scheduleCatchUp(client, "sweep").then(sweep), this.#o.reconcileMs * (0.9 + 0.2 * Math.random()));
      };
      sweep();
      await closed.finally(() => {
        open = false;
        clearTimeout(sweepTimer);
      });
    } finally {
      clearTimeout(renewTimer);
      this.#client = undefined;
      if (client.usable) await client.logout().catch(() => undefined);
    }
    if (renewing && !this.#stopped) return "renew";
    if (!this.#stopped) throw new Error("IMAP connection closed");
    return "closed";
  }

  /** Catch-ups run one at a time; events that arrive meanwhile fold into one more run. A run
   * that only the sweep timer asked for reports what it found: mail IDLE did not announce. */
  #scheduleCatchUp(client: ImapFlow, why: "event" | "sweep" = "event"): Promise<void> {
    if (this.#pending) {
      if (why === "event") this.#pendingSweep = false;
      return this.#catchUp;
    }
    this.#pending = true;
    this.#pendingSweep = why === "sweep";
    this.#catchUp = this.#catchUp
      .then(async () => {
        this.#pending = false;
        const sweep = this.#pendingSweep;
        const at = new Date().toISOString();
        const sent = await this.#catchUpOnce(client);
        if (sweep) await this.#recordSweep(at, sent);
      })
      .catch((error: unknown) => {
        this.#o.log.warn({ event: "imap_listener_catch_up_failed", providerId: this.providerId, err: error }, "catch-up failed; will retry on reconnect");
        client.close(); // reconnect, which catches up again from the stored cursor
      });
    return this.#catchUp;
  }

  /** The sweep's result, on the mailbox as the other providers' sweeps keep theirs. Mail younger
   * than the grace period may be announced by IDLE a moment later: sent, not counted. */
  async #recordSweep(at: string, sent: SeenMessage[]): Promise<void> {
    const found = sent.filter((m) => Date.parse(at) - m.internalDate >= NOTIFICATION_GRACE_MS).length;
    await this.#o.directory.updateCursors(this.providerId, { lastSweep: { at, listed: sent.length, enqueued: sent.length, found } });
    const report = { providerId: this.providerId, kind: "imap", listed: sent.length, enqueued: sent.length, found };
    this.#o.onSweep?.(report);
    if (found > 0) this.#o.log.warn({ event: "inbound_email_reconcile_found", ...report }, "the sweep found mail IDLE did not announce");
    else this.#o.log.info({ event: "inbound_email_reconcile_sweep", ...report }, "reconciliation sweep");
  }

  /** Posts what is above the cursor; returns what it sent. */
  async #catchUpOnce(client: ImapFlow): Promise<SeenMessage[]> {
    const opened = client.mailbox;
    if (!opened) throw new Error("no mailbox selected");
    const uidValidity = String(opened.uidValidity);
    const record = await this.#o.directory.get(this.providerId);
    if (!record) throw new Error(`provider ${this.providerId} no longer exists`);
    const cursors = record.cursors;
    let messages: SeenMessage[];
    if (cursors.imapUidValidity === undefined || cursors.imapLastUid === undefined) {
      // First watch of this mailbox: start with what arrives from now on, not its whole history.
      const last = Math.max(0, (opened.uidNext ?? 1) - 1);
      await this.#o.directory.updateCursors(this.providerId, { imapUidValidity: uidValidity, imapLastUid: last, needsResync: false });
      messages = await this.#messagesAbove(client, last);
    } else if (cursors.imapUidValidity !== uidValidity) {
      this.#o.log.warn({ event: "imap_listener_uidvalidity_changed", providerId: this.providerId, from: cursors.imapUidValidity, to: uidValidity }, "UIDVALIDITY changed: old UIDs mean nothing now; resynchronising by arrival date");
      messages = await this.#messagesAfter(client, cursors.imapLastInternalDate, cursors.imapBoundaryMessageIds ?? []);
      if (messages.length === 0) await this.#o.directory.updateCursors(this.providerId, { imapUidValidity: uidValidity, imapLastUid: Math.max(0, (opened.uidNext ?? 1) - 1), needsResync: false });
    } else {
      messages = await this.#messagesAbove(client, cursors.imapLastUid);
    }
    let boundary = { date: cursors.imapLastInternalDate, ids: cursors.imapBoundaryMessageIds ?? [] };
    for (let i = 0; i < messages.length; i += this.#o.batchSize) {
      const batch = messages.slice(i, i + this.#o.batchSize);
      await this.#o.notify({ providerId: this.providerId, mailbox: this.folder, uidValidity, uids: batch.map((m) => m.uid) });
      boundary = advanceBoundary(boundary, batch);
      await this.#o.directory.updateCursors(this.providerId, {
        imapUidValidity: uidValidity,
        imapLastUid: batch[batch.length - 1]!.uid,
        ...(boundary.date ? { imapLastInternalDate: boundary.date } : {}),
        imapBoundaryMessageIds: boundary.ids,
        needsResync: false,
      });
      this.#o.log.info({ event: "imap_listener_notified", providerId: this.providerId, uids: batch.length, lastUid: batch[batch.length - 1]!.uid }, "new messages sent to the ingress");
    }
    return messages;
  }

  async #messagesAbove(client: ImapFlow, lastUid: number): Promise<SeenMessage[]> {
    const found = (await client.search({ uid: `${lastUid + 1}:*` }, { uid: true })) || [];
    const uids = found.filter((uid) => uid > lastUid);
    return uids.length === 0 ? [] : this.#describe(client, uids);
  }

  /** After a UIDVALIDITY change: the messages that arrived after the last one sent on. */
  async #messagesAfter(client: ImapFlow, lastDate: string | undefined, boundaryIds: string[]): Promise<SeenMessage[]> {
    const since = lastDate ? new Date(Date.parse(lastDate) - 24 * 3600_000) : undefined;
    const found = (await client.search(since ? { since } : { all: true }, { uid: true })) || [];
    if (found.length === 0) return [];
    const last = lastDate ? Date.parse(lastDate) : -Infinity;
    return (await this.#describe(client, found)).filter((m) => m.internalDate > last || (m.internalDate === last && !boundaryIds.includes(m.messageId)));
  }

  async #describe(client: ImapFlow, uids: number[]): Promise<SeenMessage[]> {
    const out: SeenMessage[] = [];
    for await (const message of client.fetch(uids.join(","), { uid: true, internalDate: true, envelope: true }, { uid: true })) {
      const date = message.internalDate instanceof Date ? message.internalDate.getTime() : Date.parse(String(message.internalDate ?? ""));
      out.push({ uid: message.uid, internalDate: Number.isFinite(date) ? date : 0, messageId: message.envelope?.messageId ?? `uid:${message.uid}` });
    }
    return out.sort((a, b) => a.uid - b.uid);
  }
}

interface SeenMessage {
  uid: number;
  internalDate: number;
  messageId: string;
}

function advanceBoundary(current: { date: string | undefined; ids: string[] }, batch: SeenMessage[]): { date: string | undefined; ids: string[] } {
  let date = current.date ? Date.parse(current.date) : -Infinity;
  let ids = current.ids;
  for (const m of batch) {
    if (m.internalDate > date) {
      date = m.internalDate;
      ids = [m.messageId];
    } else if (m.internalDate === date && !ids.includes(m.messageId)) {
      ids = [...ids, m.messageId];
    }
  }
  return { date: Number.isFinite(date) ? new Date(date).toISOString() : undefined, ids };
}
