// Known senders: the contact id of an address that has written before, so the per-message
// statement names the requester instead of looking the contact up and carrying the steps that
// insert a new one and learn its name (about a tenth of a small message's database time).
// Entries are dropped after `ttlMs` and the least recently used go first beyond `maxEntries`. A
// contact deleted or merged away meanwhile fails the statement's foreign key; the processor then
// forgets the entry and applies the message the long way.
export interface KnownSender {
  contactId: number;
  /** The contact has a display name, so there is nothing left to learn from later mail. */
  named: boolean;
}

export class KnownSenders {
  readonly #entries = new Map<string, { sender: KnownSender; until: number }>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;

  constructor(options: { maxEntries?: number; ttlMs?: number } = {}) {
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#ttlMs = options.ttlMs ?? 10 * 60_000;
  }

  get(tenantId: string, address: string): KnownSender | undefined {
    const key = `${tenantId}\n${address}`;
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (entry.until <= Date.now()) return undefined;
    this.#entries.set(key, entry); // most recently used last
    return entry.sender;
  }

  remember(tenantId: string, address: string, sender: KnownSender): void {
    const key = `${tenantId}\n${address}`;
    this.#entries.delete(key);
    this.#entries.set(key, { sender, until: Date.now() + this.#ttlMs });
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }

  forget(tenantId: string, address: string): void {
    this.#entries.delete(`${tenantId}\n${address}`);
  }
}
