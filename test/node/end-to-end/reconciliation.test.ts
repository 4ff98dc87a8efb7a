// Notifications are best effort; the sweep makes the promise hold. Through the whole chain
// (provider fakes → the Worker under wrangler dev → queue → consumer → PostgreSQL), 200 mails
// across the three providers with 30% of Graph and Gmail notifications dropped and the IMAP
// listener stopped for part of the time: all 200 become tickets within two sweep intervals of the
// last one, none twice, and the sweeps say what they found.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChain, type Chain } from "../../support/chain.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { buildMail } from "../../support/mail.ts";

const INTERVAL_MS = 8000;
const logs = captureLogs();
let chain: Chain;

beforeAll(async () => {
  const base = Number(process.env.INLET_TEST_PORT_BASE ?? 18000);
  chain = await startChain({ log: logs.log, workerPort: base + 801, env: { INLET_RECONCILE_INTERVAL_MS: String(INTERVAL_MS), INLET_CONCURRENCY: "8" } });
}, 120_000);

afterAll(async () => chain?.close(), 60_000);

describe("reconciliation through the whole chain", () => {
  it("200 mails, 30% of notifications dropped, the IMAP listener stopped for a while: every mail one ticket within two sweep intervals", async () => {
    chain.graph.dropNotifications = 0.3;
    chain.dropPushes = 0.3;
    const mail = (i: number) => buildMail({ id: `reconcile-${i}@customer.example`, subject: `Request ${i}`, body: `Mail number ${i}.` });
    for (let i = 0; i < 200; i++) {
      if (i === 120) await chain.app.listener!.stop(); // IMAP mail 120..159 arrives while nobody watches
      if (i === 160) await chain.app.listener!.start();
      const raw = mail(i);
      // Random drops, and the last Graph and Gmail mail always unannounced: only a sweep finds those.
      const notify = i < 197;
      if (i % 3 === 0) await chain.sendMicrosoft(raw, { notify });
      else if (i % 3 === 1) await chain.sendGmail(raw, { notify });
      else await chain.sendImap(raw);
    }
    const lastSent = Date.now();
    while ((await chain.processed()) < 200 && Date.now() - lastSent < 4 * INTERVAL_MS) await new Promise((r) => setTimeout(r, 100));
    const elapsed = Date.now() - lastSent;

    const byProvider = async () => JSON.stringify(await chain.app.db.query("SELECT provider, count(*)::int AS n FROM email_processed_messages GROUP BY provider ORDER BY provider"));
    expect(await chain.processed(), await byProvider()).toBe(200);
    expect(elapsed, `all 200 after ${elapsed} ms (${await byProvider()})`).toBeLessThanOrEqual(2 * INTERVAL_MS);
    const [tickets] = await chain.app.db.query<{ n: number; distinct: number }>("SELECT count(*)::int AS n, count(DISTINCT subject)::int AS distinct FROM tickets WHERE tenant_id = 'acme'");
    expect(tickets).toEqual({ n: 200, distinct: 200 });
    expect(chain.graph.droppedNotifications()).toBeGreaterThan(0);
    // What the sweeps enqueued, and (Gmail: no grace period applies) what they counted as found.
    const sweeps = [...logs.events("inbound_email_reconcile_sweep"), ...logs.events("inbound_email_reconcile_found")];
    const enqueuedBy = (kind: string) => sweeps.filter((e) => e.kind === kind).reduce((sum, e) => sum + Number(e.enqueued), 0);
    expect(enqueuedBy("microsoft")).toBeGreaterThan(0);
    expect(enqueuedBy("google")).toBeGreaterThan(0);
    expect(logs.events("inbound_email_reconcile_found").filter((e) => e.kind === "google").length).toBeGreaterThan(0);
    const stats = await chain.app.queue.stats();
    expect(stats).toMatchObject({ dlq: 0 });
  }, 180_000);
});
