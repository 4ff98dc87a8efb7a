// The IMAP listener: one watcher per IMAP mailbox this replica holds the lease for, and only for
// its share of them. Every refresh it
//   1. computes the share: the live replicas (the heartbeat, ../runtime/replica-heartbeat.ts)
//      divide the mailboxes by bounded rendezvous hashing (../runtime/mailbox-share.ts), so each
//      holds at most ceil(total ÷ live), or its cap (INLET_IMAP_MAX_MAILBOXES) when lower;
//   2. hands back what is no longer its share (a replica joined): the watcher stops cleanly,
//      its catch-up stored, then the lease is released and the taker catches up by UID from
//      the stored cursor, so nothing is missed. Stopping runs beside the refreshes, which keep
//      renewing the lease until it is released, so a slow server cannot hold renewals up;
//   3. renews its leases and takes the free ones of its share in one script call per 500
//      mailboxes (mailbox-share-1.lua): a dead replica's mailboxes once its leases ran out;
//   4. stops watchers whose mailbox was removed or whose lease was lost.
// Posts to the ingress go out at most `maxPostsInFlight` at once, so hundreds of watchers
// catching up together (a take-over) queue rather than open hundreds of requests.
// A replica that cannot renew (Redis unreachable, the process stalled) stops its watchers
// itself shortly before its leases can run out, so two replicas do not watch one mailbox.
import { createHash, randomUUID } from "node:crypto";
import type { ScriptClient } from "../../src/queue/script.ts";
import type { ImapTokenSource } from "../auth/imap.ts";
import type { MailboxDirectory, MailboxRecord } from "../domain/mailbox.ts";
import type { Logger } from "../runtime/log.ts";
import { holdLeases, MailboxLease } from "../runtime/mailbox-lease.ts";
import { assignMailboxes, type Replica } from "../runtime/mailbox-share.ts";
import { concurrencyLimit, type Limited } from "../runtime/concurrency-limit.ts";
import { postImapNotification, type ImapNotification } from "./ingress-client.ts";
import { MailboxWatcher } from "./mailbox-watcher.ts";
import type { SweepReport } from "../reconcile/sweep.ts";

/** What the listener needs of the heartbeat: who this replica is and who else is alive. */
export interface ReplicaView {
  readonly id: string;
  readonly live: readonly Replica[];
}

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
  /** The live replicas to share with; without it this listener counts itself alone (and the
   * leases still keep two listeners off one mailbox). */
  replicas?: ReplicaView;
  /** The most mailboxes this replica watches (INLET_IMAP_MAX_MAILBOXES). */
  maxMailboxes?: number | undefined;
  /** Take the first share this long after start() (which then returns at once) instead of
   * before it returns: replicas started together see each other's heartbeats first, rather
   * than the first one taking every mailbox and handing most of them back. */
  firstRefreshMs?: number;
  /** Each watcher's reconciliation sweep (a catch-up without an `exists` event). */
  reconcileMs?: number;
  /** Access tokens, for mailboxes that log in by OAuth2. */
  imapTokens?: ImapTokenSource;
  /** Told of every watcher's sweep (metrics). */
  onSweep?: (report: SweepReport) => void;
  /** Replaces posting to the ingress (tests and the demo may point it elsewhere). */
  notify?(notification: ImapNotification): Promise<void>;
  /** Posts to the ingress at once (default 16). */
  maxPostsInFlight?: number;
}

interface Entry {
  watcher: MailboxWatcher;
  lease: MailboxLease;
  credentials: string;
  /** Until when (this process's clock) the lease is surely ours: counted from when the renewal
   * that set it was sent. */
  surelyUntil: number;
  /** While leaving: whether the lease is still ours to give back once the watcher stopped. */
  release: boolean;
}

const credentialsOf = (m: MailboxRecord) => createHash("sha256").update(JSON.stringify(m.credentials)).digest("base64url");

export class ImapListener {
  readonly owner: string;
  readonly #o: ImapListenerOptions & { refreshMs: number; leaseTtlMs: number };
  readonly #watchers = new Map<string, Entry>();
  /** Watchers being stopped; their leases are renewed until given back. */
  readonly #leaving = new Map<string, { entry: Entry; done: Promise<void> }>();
  readonly #post: Limited;
  #timer: NodeJS.Timeout | undefined;
  #fenceTimer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> = Promise.resolve();
  #stopped = false;
  #lastShare = "";

  constructor(options: ImapListenerOptions) {
    this.#o = { refreshMs: 3_333, leaseTtlMs: 10_000, ...options };
    this.owner = options.replicas?.id ?? `imap-listener-${randomUUID()}`;
    this.#post = concurrencyLimit(options.maxPostsInFlight ?? 16);
  }

  get watching(): string[] {
    return [...this.#watchers.keys()];
  }

  /** Start watching (again, after stop()). */
  async start(): Promise<void> {
    this.#stopped = false;
    this.#clearTimers();
    if (this.#o.firstRefreshMs) this.#soon = setTimeout(() => void this.refresh(), this.#o.firstRefreshMs);
    else await this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#o.refreshMs);
    this.#fenceTimer = setInterval(() => this.#fence(), Math.max(25, Math.floor(this.#o.refreshMs / 4)));
  }

  refresh(): Promise<void> {
    this.#refreshing = this.#refreshing.then(() => this.#refreshOnce()).catch((error: unknown) => {
      this.#o.log.warn({ event: "imap_listener_refresh_failed", err: error }, "could not refresh the watched mailboxes");
    });
    return this.#refreshing;
  }

  async #refreshOnce(): Promise<void> {
    if (this.#stopped) return;
    const began = Date.now();
    const mailboxes = await this.#o.listMailboxes();
    const byId = new Map(mailboxes.map((m) => [m.providerId, m]));
    const live = this.#o.replicas?.live ?? [{ id: this.owner, capacity: this.#o.maxMailboxes }];
    const assignment = assignMailboxes([...byId.keys()], live);
    for (const [providerId, entry] of this.#watchers) {
      const mailbox = byId.get(providerId);
      const assignee = assignment.get(providerId);
      if (!mailbox) void this.#leave(providerId, entry, "mailbox removed or waiting for re-authorisation");
      else if (entry.watcher.refused) void this.#leave(providerId, entry, "login refused");
      else if (entry.credentials !== credentialsOf(mailbox)) void this.#leave(providerId, entry, "credentials changed"); // watched again once given back, with the new ones
      else if (assignee !== this.owner) void this.#leave(providerId, entry, "handed back", assignee);
    }

    const mine = mailboxes.filter((m) => assignment.get(m.providerId) === this.owner);
    const held = mine.filter((m) => this.#watchers.has(m.providerId)).map((m) => m.providerId);
    const leaving = [...this.#leaving].filter(([, l]) => l.entry.release).map(([id]) => id);
    const wanted = mine.filter((m) => !this.#watchers.has(m.providerId) && !this.#leaving.has(m.providerId));
    const order = [...held, ...leaving, ...wanted.map((m) => m.providerId)];
    // The script counts the leaving leases as held: room for them on top of the share.
    const limit = Math.min(this.#o.maxMailboxes ?? Infinity, mine.length) + leaving.length;
    const sentAt = Date.now();
    const states = order.length ? await holdLeases(this.#o.scripts, order.map((id) => this.#leaseKey(id)), this.owner, this.#o.leaseTtlMs, limit) : [];
    let waiting = 0;
    const taken: string[] = [];
    order.forEach((providerId, i) => {
      const state = states[i];
      const entry = this.#watchers.get(providerId);
      const gone = this.#leaving.get(providerId)?.entry;
      if (entry) {
        if (state === "held") entry.surelyUntil = sentAt + this.#o.leaseTtlMs;
        // Not ours any more (it ran out while this replica stalled): someone else may watch it now.
        else void this.#leave(providerId, entry, "lease taken by another replica", undefined, false);
      } else if (gone) {
        if (state === "held") gone.surelyUntil = sentAt + this.#o.leaseTtlMs;
        else gone.release = false;
      } else if (state === "held") {
        if (this.#stopped) return;
        this.#watch(byId.get(providerId)!, sentAt);
        taken.push(providerId);
      } else if (state === "other") {
        waiting++;
      }
    });
    if (taken.length) this.#o.log.info({ event: "imap_listener_took", replicaId: this.owner, count: taken.length, providerIds: taken }, "took mailbox leases");
    this.#logShare(live.length, mailboxes.length, mine.length, waiting);
    const tookMs = Date.now() - began;
    if (tookMs > this.#o.refreshMs / 2) this.#o.log.warn({ event: "imap_listener_refresh_slow", replicaId: this.owner, refreshMs: tookMs, listMs: sentAt - began, renewMs: Date.now() - sentAt, leases: order.length }, "a refresh of the IMAP leases took longer than half its interval");
    // A replica that just joined waits for the others to hand its share back, and one handing
    // back (or changing credentials) takes up again what it gave: look again soon.
    clearTimeout(this.#soon);
    if ((waiting > 0 || this.#leaving.size > 0) && !this.#stopped && this.#timer) this.#soon = setTimeout(() => void this.refresh(), Math.max(50, Math.floor(this.#o.refreshMs / 4)));
  }

  #leaseKey(providerId: string): string {
    return `${this.#o.leasePrefix}${providerId}`;
  }

  #watch(mailbox: MailboxRecord, sentAt: number): void {
    const watcher = new MailboxWatcher({ mailbox, directory: this.#o.directory, log: this.#o.log, notify: (n) => this.#notify(n), ...(this.#o.reconcileMs ? { reconcileMs: this.#o.reconcileMs } : {}), ...(this.#o.imapTokens ? { tokens: this.#o.imapTokens } : {}), ...(this.#o.onSweep ? { onSweep: this.#o.onSweep } : {}) });
    const lease = new MailboxLease(this.#o.scripts, this.#leaseKey(mailbox.providerId), this.owner, this.#o.leaseTtlMs);
    this.#watchers.set(mailbox.providerId, { watcher, lease, credentials: credentialsOf(mailbox), surelyUntil: sentAt + this.#o.leaseTtlMs, release: true });
    watcher.start();
  }

  /** Stop the watchers whose lease may run out before the next renewal could reach Redis. */
  #fence(): void {
    const margin = this.#o.refreshMs / 4;
    const now = Date.now();
    for (const [id, entry] of this.#watchers) if (entry.surelyUntil - margin <= now) void this.#leave(id, entry, "lease could not be renewed in time");
  }

  #logShare(live: number, total: number, assigned: number, waiting: number): void {
    const share = `${live}/${total}/${assigned}/${this.#watchers.size}/${waiting}`;
    if (share === this.#lastShare) return;
    this.#lastShare = share;
    this.#o.log.info({ event: "imap_listener_share", replicaId: this.owner, liveReplicas: live, mailboxes: total, assigned, watching: this.#watchers.size, waitingForHandBack: waiting }, "IMAP listener share");
  }

  #notify(notification: ImapNotification): Promise<void> {
    return this.#post(() => (this.#o.notify ? this.#o.notify(notification) : postImapNotification(this.#o.ingressUrl, this.#o.webhookSecret, notification)));
  }

  /** Stop the watcher, then give the lease back (unless it is known not to be ours any more);
   * the refreshes renew it meanwhile. Resolves when it is done, but nobody needs to wait. */
  #leave(providerId: string, entry: Entry, why: string, to?: string, release = true): Promise<void> {
    const leaving = this.#leaving.get(providerId);
    if (leaving) return leaving.done;
    if (this.#watchers.get(providerId) !== entry) return Promise.resolve();
    this.#watchers.delete(providerId);
    entry.release = release;
    const done = (async () => {
      try {
        await entry.watcher.stop();
        if (entry.release) await entry.lease.release().catch(() => undefined);
      } finally {
        this.#leaving.delete(providerId);
      }
      this.#o.log.info({ event: "imap_listener_stopped_watching", providerId, reason: why, ...(to ? { to } : {}) }, "stopped watching mailbox");
    })().catch((error: unknown) => this.#o.log.warn({ event: "imap_listener_stop_failed", providerId, err: error }, "stopping a mailbox watcher failed"));
    this.#leaving.set(providerId, { entry, done });
    return done;
  }

  #clearTimers(): void {
    clearInterval(this.#timer);
    clearInterval(this.#fenceTimer);
    clearTimeout(this.#soon);
    this.#timer = undefined;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clearTimers();
    await this.#refreshing;
    for (const [id, entry] of this.#watchers) void this.#leave(id, entry, "listener stopped");
    await Promise.all([...this.#leaving.values()].map((l) => l.done));
  }
}
