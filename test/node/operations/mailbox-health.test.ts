// Mailbox health: the rules that derive a status; the store's batched flush (columns only move
// forward, failures in a row add up until a success, a removed mailbox is left out) on PostgreSQL
// and PGlite; a status change stored and logged once when two replicas check at the same time;
// and a flush that fails keeps what it held for the next one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Claim } from "../../../src/queue/queue.ts";
import { deriveStatus, EMPTY_HEALTH, FAILING_AFTER } from "../../../consumer/domain/health.ts";
import { InletError } from "../../../consumer/domain/errors.ts";
import type { MailboxRecord } from "../../../consumer/domain/mailbox.ts";
import { listMailboxHealth } from "../../../consumer/operations/mailboxes.ts";
import { MailboxHealthRecorder } from "../../../consumer/runtime/mailbox-health.ts";
import type { Queryable } from "../../../consumer/store/db.ts";
import { HealthStore } from "../../../consumer/store/health.ts";
import { Mailboxes } from "../../../consumer/store/mailboxes.ts";
import { openPostgres } from "../../../consumer/store/postgres.ts";
import { backends, testDatabase, type TestDatabase } from "../../support/database.ts";
import { captureLogs } from "../../support/log-capture.ts";

const NOW = Date.parse("2026-12-01T12:00:00Z");
const hours = (h: number) => new Date(NOW + h * 3600_000).toISOString();

function microsoft(cursors: MailboxRecord["cursors"] = {}, authorisation?: MailboxRecord["authorisation"]): MailboxRecord {
  return { providerId: "m1", tenantId: "t", kind: "microsoft", address: "a@x", credentials: { type: "microsoft", azureTenantId: "e", clientId: "c", clientSecret: "s" }, cursors, bulkMailOpensTickets: false, ...(authorisation ? { authorisation } : {}) };
}

describe("the derived status", () => {
  const ok = { graphSubscriptionExpiresAt: hours(48) };
  it("is healthy with a live subscription and no failures", () => expect(deriveStatus(microsoft(ok), EMPTY_HEALTH, NOW)).toEqual({ status: "healthy", reason: "" }));
  it("needs re-authorisation first of all", () =>
    expect(deriveStatus(microsoft({ graphSubscriptionExpiresAt: hours(-1) }, { status: "needs_reauthorisation", reason: "microsoft_auth_revoked", since: hours(-2) }), { ...EMPTY_HEALTH, consecutiveFailures: 9 }, NOW).status).toBe("needs_reauthorisation"));
  it("is expired once the subscription's time has passed", () => expect(deriveStatus(microsoft({ graphSubscriptionExpiresAt: hours(-1) }), EMPTY_HEALTH, NOW)).toEqual({ status: "expired", reason: "the subscription expired 1.0 h ago" }));
  it(`is failing from ${FAILING_AFTER} failures in a row, degraded below`, () => {
    const error = { code: "microsoft_fetch_http_503", message: "x", at: hours(0) };
    expect(deriveStatus(microsoft(ok), { ...EMPTY_HEALTH, consecutiveFailures: FAILING_AFTER, lastError: error }, NOW)).toEqual({ status: "failing", reason: "3 jobs failed in a row (last: microsoft_fetch_http_503)" });
    expect(deriveStatus(microsoft(ok), { ...EMPTY_HEALTH, consecutiveFailures: 1, lastError: error }, NOW).status).toBe("degraded");
  });
  it("is degraded when the last sweep failed or found unannounced mail, or the subscription expires within 12 h", () => {
    expect(deriveStatus(microsoft({ ...ok, lastSweep: { at: hours(0), listed: 3, enqueued: 2, found: 2 } }), EMPTY_HEALTH, NOW).reason).toBe("the last sweep found 2 message(s) no notification announced");
    expect(deriveStatus(microsoft({ ...ok, lastSweep: { at: hours(0), listed: 0, enqueued: 0, found: 0, error: "microsoft_delta_http_503" } }), EMPTY_HEALTH, NOW).reason).toBe("the last sweep failed (microsoft_delta_http_503)");
    expect(deriveStatus(microsoft({ graphSubscriptionExpiresAt: hours(5) }), EMPTY_HEALTH, NOW)).toEqual({ status: "degraded", reason: "the subscription expires in 5.0 h" });
  });
});

const claimOf = (providerId: string, enqueuedAt: number, origin?: "sweep"): Claim =>
  ({ jobId: `j${enqueuedAt}`, token: "t", delivery: 1, leaseUntil: 0, job: { jobId: `j${enqueuedAt}`, schemaVersion: 1, provider: "imap", tenantId: "t", providerId, enqueuedAt, attempt: 0, pointer: { mailbox: "INBOX", uidValidity: "1", uid: 1 }, ...(origin ? { origin } : {}) } }) as Claim;
const failure = (code: string) => ({ outcome: "retry" as const, error: new InletError(code, `${code}: the server said no`, { disposition: "retry" }) });

for (const backend of backends) {
  describe(`the health store and recorder on ${backend}`, () => {
    let t: TestDatabase;
    let mailboxes: Mailboxes;
    let imapId: string;
    beforeAll(async () => {
      t = await testDatabase(backend);
      mailboxes = new Mailboxes(t.db);
      imapId = await mailboxes.add({ tenantId: "t", kind: "imap", address: "imap@x.example", credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" } });
    });
    afterAll(async () => t?.drop());

    it("records notifications (not a sweep's), mail, errors and failures in a row, flushed in one statement", async () => {
      const logs = captureLogs();
      const store = new HealthStore(t.db);
      const recorder = new MailboxHealthRecorder({ store, listMailboxes: () => mailboxes.list(), log: logs.log });
      recorder.settled(claimOf(imapId, NOW), { outcome: "processed", messages: 1 });
      recorder.settled(claimOf(imapId, NOW + 5000, "sweep"), { outcome: "processed", messages: 1 });
      recorder.settled(claimOf(imapId, NOW - 1000), failure("imap_unreachable"));
      recorder.settled(claimOf("removed-meanwhile", NOW), { outcome: "processed", messages: 1 });
      await recorder.flush();
      const first = (await store.get(imapId))!;
      expect(first).toMatchObject({ lastNotificationAt: new Date(NOW).toISOString(), consecutiveFailures: 1, lastError: { code: "imap_unreachable", message: "imap_unreachable: the server said no" } });
      expect(first.lastProcessedAt).toBeDefined();
      expect(await store.get("removed-meanwhile")).toBeUndefined();

      // Failures without a success add up; an older notification does not move the time back.
      recorder.settled(claimOf(imapId, NOW - 60_000), failure("imap_timeout"));
      recorder.settled(claimOf(imapId, NOW - 60_000), failure("imap_timeout"));
      await recorder.flush();
      const second = (await store.get(imapId))!;
      expect(second).toMatchObject({ lastNotificationAt: new Date(NOW).toISOString(), consecutiveFailures: 3, lastError: { code: "imap_timeout" }, status: "failing" });
      expect(logs.events("inbound_email_mailbox_status").map((e) => [e.status, e.previous])).toEqual([["degraded", "healthy"], ["failing", "degraded"]]);

      // A success resets the count to the failures after it.
      recorder.settled(claimOf(imapId, NOW + 1000), { outcome: "skipped", reason: "auto_reply" });
      await recorder.flush();
      expect(await store.get(imapId)).toMatchObject({ consecutiveFailures: 0, status: "healthy", lastError: { code: "imap_timeout" } });
      expect(logs.events("inbound_email_mailbox_status").at(-1)).toMatchObject({ status: "healthy", previous: "failing", providerId: imapId });
      const [listed] = await listMailboxHealth(mailboxes, store);
      expect(listed!.health.derived.status).toBe("healthy");
    });

    it("a flush that fails keeps what it held, merged with what came after, for the next flush", async () => {
      let failNext = true;
      const flaky: Queryable = {
        query: (sql, params, options) => {
          if (failNext && sql.includes("jsonb_to_recordset")) {
            failNext = false;
            return Promise.reject(new Error("connection lost"));
          }
          return t.db.query(sql, params, options);
        },
      };
      const store = new HealthStore(flaky);
      const recorder = new MailboxHealthRecorder({ store, listMailboxes: () => mailboxes.list(), log: captureLogs().log });
      recorder.settled(claimOf(imapId, NOW + 10_000), failure("imap_unreachable"));
      await expect(recorder.flush()).rejects.toThrow("connection lost");
      recorder.settled(claimOf(imapId, NOW + 20_000), failure("imap_unreachable"));
      await recorder.flush();
      expect(await store.get(imapId)).toMatchObject({ lastNotificationAt: new Date(NOW + 20_000).toISOString(), consecutiveFailures: 2 });
    });
  });
}

describe("two replicas checking statuses at once (PostgreSQL)", () => {
  it("store and log each change once", async () => {
    const t = await testDatabase("postgres");
    const other = openPostgres(t.url!);
    try {
      const mailboxes = new Mailboxes(t.db);
      const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => mailboxes.add({ tenantId: "t", kind: "microsoft", address: `m${i}@x.example`, credentials: { type: "microsoft", azureTenantId: "e", clientId: "c", clientSecret: "s" }, cursors: { graphSubscriptionExpiresAt: new Date(Date.now() - 60_000).toISOString() } })));
      const logs = captureLogs();
      const replicas = [t.db, other].map((db) => new MailboxHealthRecorder({ store: new HealthStore(db), listMailboxes: () => new Mailboxes(db).list(), log: logs.log }));
      await Promise.all(replicas.map((r) => r.checkStatuses()));
      const events = logs.events("inbound_email_mailbox_status");
      expect(events.map((e) => e.providerId).sort()).toEqual([...ids].sort());
      expect(events.every((e) => e.status === "expired" && e.previous === "healthy")).toBe(true);
      await Promise.all(replicas.map((r) => r.checkStatuses()));
      expect(logs.events("inbound_email_mailbox_status")).toHaveLength(6);
    } finally {
      await other.close();
      await t.drop();
    }
  });
});
