// The IMAP listener: one watcher per IMAP mailbox this replica holds the lease for. Every
// refresh it renews its leases, takes free ones (new mailboxes, or a replica that died), and
// stops watchers whose mailbox was removed or whose lease was lost.
import { randomUUID } from "node:crypto";
import type { ScriptClient } from "../../src/queue/script.ts";
import { createHash } from "node:crypto";
import type { ImapTokenSource } from "../auth/imap.ts";
import type { MailboxDirectory, MailboxRecord } from "../domain/mailbox.ts";
import type { Logger } from "../runtime/log.ts";
import { postImapNotification, type ImapNotification } from "./ingress-client.ts";
import { MailboxLease } from "../runtime/mailbox-lease.ts";
import { MailboxWatcher } from "./mailbox-watcher.ts";
import type { SweepReport } from "../reconcile/sweep.ts";

export interface ImapListenerOptions {
  /** The IMAP mailboxes to watch (the store's list of IMAP providers). */
  listMailboxes(): Promise<MailboxRecord[]>;
  directory: MailboxDirectory;
  scripts: ScriptClient;
  /** Prefix for the per-mailbox lease keys. */
  leasePrefix: string;
  ingressUrl: string;
  webhookSecret: string;
  log: Logger;
  refreshMs?: number;
  leaseTtlMs?: number;
  /** Each watcher's reconciliation sweep (a catch-up without an `exists` event). */
  reconcileMs?: number;
  /** Access tokens, for mailboxes that log in by OAuth2. */
  imapTokens?: ImapTokenSource;
  /** Told of every watcher's sweep (metrics). */
  onSweep?: (report: SweepReport) => void;
  /** Replaces posting to the ingress (tests and the demo may point it elsewhere). */
  notify?(notification: ImapNotification): Promise<void>;
}

export class ImapListener {
  readonly owner = `imap-listener-${randomUUID()}`;
  readonly #o: ImapListenerOptions & { refreshMs: number; leaseTtlMs: number };
  readonly #watchers = new Map<string, { watcher: MailboxWatcher; lease: MailboxLease; credentials: string }>();
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: ImapListenerOptions) {
    this.#o = { refreshMs: 20_000, leaseTtlMs: 60_000, ...options };
  }

  get watching(): string[] {
    return [...this.#watchers.keys()];
  }

  /** Start watching (again, after stop()). */
  async start(): Promise<void> {
    this.#stopped = false;
    clearInterval(this.#timer);
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#o.refreshMs);
  }

  refresh(): Promise<void> {
    this.#refreshing = this.#refreshing.then(() => this.#refreshOnce()).catch((error: unknown) => {
      this.#o.log.warn({ event: "imap_listener_refresh_failed", err: error }, "could not refresh the watched mailboxes");
    });
    return this.#refreshing;
  }

  async #refreshOnce(): Promise<void> {
    if (this.#stopped) return;
    const mailboxes = await this.#o.listMailboxes();
    const wanted = new Set(mailboxes.map((m) => m.providerId));
    const credentialsOf = (m: MailboxRecord) => createHash("sha256").update(JSON.stringify(m.credentials)).digest("base64url");
    for (const [providerId, entry] of this.#watchers) {
      if (!wanted.has(providerId)) await this.#drop(providerId, entry, "mailbox removed or waiting for re-authorisation");
      else if (entry.watcher.refused) await this.#drop(providerId, entry, "login refused");
    }
    for (const mailbox of mailboxes) {
      const existing = this.#watchers.get(mailbox.providerId);
      // Connected again with new credentials: watch with those.
      if (existing && existing.credentials !== credentialsOf(mailbox)) await this.#drop(mailbox.providerId, existing, "credentials changed");
      const current = this.#watchers.get(mailbox.providerId);
      const lease = current?.lease ?? new MailboxLease(this.#o.scripts, `${this.#o.leasePrefix}${mailbox.providerId}`, this.owner, this.#o.leaseTtlMs);
      const held = await lease.acquire();
      if (held && !current) {
        const watcher = new MailboxWatcher({ mailbox, directory: this.#o.directory, log: this.#o.log, notify: (n) => this.#notify(n), ...(this.#o.reconcileMs ? { reconcileMs: this.#o.reconcileMs } : {}), ...(this.#o.imapTokens ? { tokens: this.#o.imapTokens } : {}), ...(this.#o.onSweep ? { onSweep: this.#o.onSweep } : {}) });
        this.#watchers.set(mailbox.providerId, { watcher, lease, credentials: credentialsOf(mailbox) });
        watcher.start();
      } else if (!held && current) {
        await this.#drop(mailbox.providerId, current, "lease taken by another replica");
      }
    }
  }

  #notify(notification: ImapNotification): Promise<void> {
    return this.#o.notify ? this.#o.notify(notification) : postImapNotification(this.#o.ingressUrl, this.#o.webhookSecret, notification);
  }

  async #drop(providerId: string, entry: { watcher: MailboxWatcher; lease: MailboxLease }, why: string): Promise<void> {
    this.#watchers.delete(providerId);
    await entry.watcher.stop();
    await entry.lease.release().catch(() => undefined);
    this.#o.log.info({ event: "imap_listener_stopped_watching", providerId, reason: why }, "stopped watching mailbox");
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#refreshing;
    await Promise.all([...this.#watchers].map(([id, entry]) => this.#drop(id, entry, "listener stopped")));
  }
}
