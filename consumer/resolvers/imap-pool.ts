// Logged-in imapflow connections, one per mailbox (and credential): reused across jobs, replaced
// when they close, dropped after an error whose effect on the connection is unknown (a timeout
// may leave a command pending), logged out after a while without use. Jobs on one connection take
// turns: a selected folder and its lock belong to the connection.
import { ImapFlow } from "imapflow";
import { InletError } from "../domain/errors.ts";
import type { ImapCredentials } from "../domain/mailbox.ts";
import { imapConnectionOptions } from "./imap-connection.ts";

export interface PooledConnection {
  readonly client: ImapFlow;
  /** Settles when the connection is logged in (or failed to). */
  readonly ready: Promise<void>;
}

interface Entry extends PooledConnection {
  turn: Promise<unknown>;
  users: number;
  idleTimer: NodeJS.Timeout | undefined;
}

export interface ImapPoolOptions {
  timeoutMs: number;
  idleMs: number;
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
      if (entry.users === 0 && this.#entries.get(key) === entry) this.#idle(key, entry);
    }
  }

  async close(): Promise<void> {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(all.map((entry) => this.#logout(entry)));
  }

  #acquire(key: string, credentials: ImapCredentials): Entry {
    const existing = this.#entries.get(key);
    if (existing && (existing.client.usable || existing.users > 0)) return existing;
    if (existing) this.#drop(key, existing);
    const { timeoutMs } = this.#options;
    const client = new ImapFlow({
      ...imapConnectionOptions(credentials),
      disableAutoIdle: true,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: Math.max(timeoutMs * 4, 60_000),
    });
    // imapflow reports socket trouble as an 'error' event too; the pending command fails with it.
    client.on("error", () => undefined);
    const entry: Entry = { client, ready: client.connect(), turn: Promise.resolve(), users: 0, idleTimer: undefined };
    client.on("close", () => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
      clearTimeout(entry.idleTimer);
    });
    entry.ready.catch(() => this.#drop(key, entry));
    this.#entries.set(key, entry);
    return entry;
  }

  #drop(key: string, entry: Entry): void {
    if (this.#entries.get(key) === entry) this.#entries.delete(key);
    clearTimeout(entry.idleTimer);
    entry.client.close();
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
    if (!entry.client.usable) return entry.client.close();
    const timer = setTimeout(() => entry.client.close(), this.#options.timeoutMs);
    try {
      await entry.client.logout();
    } catch {
      entry.client.close();
    } finally {
      clearTimeout(timer);
    }
  }
}
