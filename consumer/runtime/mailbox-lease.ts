// One holder per mailbox across all replicas of the consumer (its IMAP watcher, its sweep): a
// lease key per mailbox, taken when free and kept by renewing it; a replica that stops renewing
// loses it to another.
import type { ScriptClient } from "../../src/queue/script.ts";
import { scripts } from "../../src/queue/scripts.generated.ts";

export class MailboxLease {
  readonly #client: ScriptClient;
  readonly #key: string;
  readonly #owner: string;
  readonly #ttlMs: number;

  constructor(client: ScriptClient, key: string, owner: string, ttlMs: number) {
    this.#client = client;
    this.#key = key;
    this.#owner = owner;
    this.#ttlMs = ttlMs;
  }

  /** Take the lease if free, or keep it if ours. */
  async acquire(): Promise<boolean> {
    return (await this.#client.run(scripts.mailboxLease, [this.#key], [this.#owner, this.#ttlMs])) === 1;
  }

  async release(): Promise<void> {
    await this.#client.run(scripts.mailboxRelease, [this.#key], [this.#owner]);
  }
}
