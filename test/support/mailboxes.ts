// An in-memory MailboxDirectory, for tests of the parts that only read credentials and move
// cursors (the store's own tests cover the PostgreSQL implementation).
import type { MailboxCursors, MailboxDirectory, MailboxRecord } from "../../consumer/domain/mailbox.ts";
import type { Job } from "../../src/queue/job.ts";

export class MemoryDirectory implements MailboxDirectory {
  readonly records = new Map<string, MailboxRecord>();
  readonly parked: Job[] = [];

  constructor(records: MailboxRecord[] = []) {
    for (const r of records) this.records.set(r.providerId, structuredClone(r));
  }

  async get(providerId: string): Promise<MailboxRecord | undefined> {
    const r = this.records.get(providerId);
    return r ? structuredClone(r) : undefined;
  }

  async updateCursors(providerId: string, patch: MailboxCursors): Promise<void> {
    const r = this.records.get(providerId);
    if (!r) throw new Error(`no provider ${providerId}`);
    r.cursors = { ...r.cursors, ...patch };
  }

  async markNeedsReauthorisation(providerId: string, reason: string): Promise<boolean> {
    const r = this.records.get(providerId);
    if (!r || r.authorisation) return false;
    r.authorisation = { status: "needs_reauthorisation", reason, since: new Date().toISOString() };
    return true;
  }

  async parkJob(_providerId: string, job: Job): Promise<void> {
    this.parked.push(structuredClone(job));
  }

  async list(kind?: MailboxRecord["kind"]): Promise<MailboxRecord[]> {
    return [...this.records.values()].filter((r) => !kind || r.kind === kind).map((r) => structuredClone(r));
  }
}
