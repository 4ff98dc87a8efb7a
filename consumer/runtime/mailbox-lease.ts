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

/** How a lease stands after `holdLeases`: ours (kept or taken), another owner's, or free and left
 * (the limit was reached). */
export type LeaseState = "held" | "other" | "free";

/** Keys per script call: a refresh of a thousand mailboxes costs a couple of calls. */
const SHARE_CHUNK = 500;

/** Renew the leases in `keys` that `owner` holds and take free ones, in order, while it holds
 * fewer than `limit` (see mailbox-share-1.lua). Put the held keys first. */
export async function holdLeases(client: ScriptClient, keys: readonly string[], owner: string, ttlMs: number, limit: number): Promise<LeaseState[]> {
  const states: LeaseState[] = [];
  let held = 0;
  for (let i = 0; i < keys.length; i += SHARE_CHUNK) {
    const chunk = keys.slice(i, i + SHARE_CHUNK);
    const reply = await client.run(scripts.mailboxShare, chunk, [owner, ttlMs, Math.max(0, limit - held)]);
    if (!Array.isArray(reply) || reply.length !== chunk.length) throw new Error("mailbox-share: unexpected reply");
    for (const r of reply) {
      const state: LeaseState = Number(r) === 1 ? "held" : Number(r) === 0 ? "other" : "free";
      if (state === "held") held++;
      states.push(state);
    }
  }
  return states;
}
