// Logged-in imapflow connections, one per mailbox (and credential): reused across jobs, replaced
// when they close, dropped after an error whose effect on the connection is unknown (a timeout
// may leave a command pending), logged out after a while without use. Jobs on one connection take
// turns: a selected folder and its lock belong to the connection.
// A connection logged in with an OAuth2 access token (XOAUTH2) is not given new jobs once the
// token is due for renewal: the next job logs in afresh with a new token, and the old connection
// logs out when its last job is done. So no job depends on a session whose token has expired,
// whether or not the server ends such sessions itself.
import { ImapFlow } from "imapflow";
import type { ImapTokenSource } from "../auth/imap.ts";
import { InletError } from "../domain/errors.ts";
import type { ImapCredentials } from "../domain/mailbox.ts";
import { imapLogin } from "./imap-connection.ts";

export interface PooledConnection {
  /** The connection once it is logged in (rejects when it could not log in). */
  readonly ready: Promise<ImapFlow>;
}

interface Entry extends PooledConnection {
  ready: Promise<ImapFlow>;
  client: ImapFlow | undefined;
  /** When its login token is due for renewal (undefined: a password login). */
  renewAt: number | undefined;
  dropped: boolean;
  turn: Promise<unknown>;
  users: number;
  idleTimer: NodeJS.Timeout | undefined;
}

export interface ImapPoolOptions {
  timeoutMs: number;
  idleMs: number;
  /** Access tokens for mailboxes that log in by OAuth2. */
  tokens?: ImapTokenSource;
}

/** Errors after which the connection is still known to be in a good state. */
const keepsConnection = (error: unknown) => error instanceof InletError && error.disposition === "skip";

export class ImapPool {
  readonly #entries = new Map<string, Entry>();
  readonly #options: ImapPoolOptions;

  constructor(options: ImapPoolOptions) {
    this.#options = options;
  }

  /** Run `work` on the mailbox's connection, after the jobs already waiting for it. */
  async use<T>(key: string, credentials: ImapCredentials, work: (connection: PooledConnection) => Promise<T>): Promise<T> {
    const entry = this.#acquire(key, credentials);
    entry.users++;
    clearTimeout(entry.idleTimer);
    // If the connection was dropped while this job waited its turn, start over on a fresh one.
    const run = entry.turn.then(() => (this.#entries.get(key) === entry ? work(entry) : this.use(key, credentials, work)));
    entry.turn = run.catch(() => undefined);
    try {
      return await run;
    } catch (error) {
      if (!keepsConnection(error)) this.#drop(key, entry);
      throw error;
    } finally {
      entry.users--;
      if (entry.users === 0) {
        if (this.#entries.get(key) === entry) this.#idle(key, entry);
        else if (!entry.dropped) void this.#logout(entry); // replaced for a fresh token
      }
    }
  }

  async close(): Promise<void> {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(all.map((entry) => this.#logout(entry)));
  }

  #acquire(key: string, credentials: ImapCredentials): Entry {
    const existing = this.#entries.get(key);
    if (existing) {
      const fresh = existing.renewAt === undefined || existing.renewAt > Date.now();
      const alive = !existing.client || existing.client.usable || existing.users > 0;
      if (fresh && alive) return existing;
      if (!fresh && existing.users > 0) this.#entries.delete(key); // its queued jobs finish on it
      else this.#drop(key, existing);
    }
    const { timeoutMs, tokens } = this.#options;
    const entry = { client: undefined, renewAt: undefined, dropped: false, turn: Promise.resolve(), users: 0, idleTimer: undefined } as Omit<Entry, "ready"> as Entry;
    entry.ready = (async () => {
      const login = await imapLogin(credentials, tokens);
      entry.renewAt = login.renewAt;
      const client = new ImapFlow({ ...login.options, disableAutoIdle: true, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: Math.max(timeoutMs * 4, 60_000) });
      entry.client = client;
      // imapflow reports socket trouble as an 'error' event too; the pending command fails with it.
      client.on("error", () => undefined);
      client.on("close", () => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
        clearTimeout(entry.idleTimer);
      });
      if (entry.dropped) client.close();
      await client.connect();
      return client;
    })();
    entry.ready.catch(() => this.#drop(key, entry));
    this.#entries.set(key, entry);
    return entry;
  }

  #drop(key: string, entry: Entry): void {
    if (this.#entries.get(key) === entry) this.#entries.delete(key);
    entry.dropped = true;
    clearTimeout(entry.idleTimer);
    entry.client?.close();
  }

  #idle(key: string, entry: Entry): void {
    clearTimeout(entry.idleTimer);
    entry.idleTimer = setTimeout(() => {
      if (this.#entries.get(key) !== entry || entry.users > 0) return;
      this.#entries.delete(key);
      void this.#logout(entry);
    }, this.#options.idleMs);
    entry.idleTimer.unref();
  }

  async #logout(entry: Entry): Promise<void> {
    clearTimeout(entry.idleTimer);
    entry.dropped = true;
    const client = entry.client;
    if (!client) return;
    if (!client.usable) return client.close();
    const timer = setTimeout(() => client.close(), this.#options.timeoutMs);
    try {
      await client.logout();
    } catch {
      client.close();
    } finally {
      clearTimeout(timer);
    }
  }
}
