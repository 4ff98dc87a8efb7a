// A captured Google push token cannot silence a mailbox. Through the whole chain, with the sweep
// out of the way: a genuine push, then a replayed genuine token carrying a huge historyId, then
// three genuine pushes: all four mails become tickets (the edge drops pushes as stale only at or
// below the cursor the consumer confirmed, never at what a push claimed), and the replayed push
// ends as a skip, not in the dead-letter list.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushGmailNotification } from "../../../dev/fakes/pubsub.ts";
import { CHAIN, startChain, type Chain } from "../../support/chain.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { buildMail } from "../../support/mail.ts";
import { until } from "../../support/until.ts";

const logs = captureLogs();
let chain: Chain;

beforeAll(async () => {
  const base = Number(process.env.INLET_TEST_PORT_BASE ?? 18000);
  chain = await startChain({ log: logs.log, workerPort: base + 802, env: { INLET_RECONCILE_INTERVAL_MS: "3600000", UNIFIED_INBOUND_EMAIL_QUEUE_BACKOFF_BASE_MS: "100", UNIFIED_INBOUND_EMAIL_QUEUE_BACKOFF_MAX_MS: "300" } });
}, 120_000);

afterAll(async () => chain?.close(), 60_000);

describe("a replayed Google push token", () => {
  it("a huge historyId from a replayed token does not make later genuine pushes stale", async () => {
    await chain.sendGmail(buildMail({ id: "before-replay@customer.example", subject: "Before the replay" }));
    await until(async () => (await chain.processed()) === 1, 20_000, "the first mail processed");

    const workerUrl = chain.worker.url;
    const replayed = await pushGmailNotification(`${workerUrl}/webhooks/google`, { privateJwk: chain.jwks.privateJwk, audience: `${workerUrl}/webhooks/google`, serviceAccount: CHAIN.pushServiceAccount }, { emailAddress: CHAIN.google.address, historyId: "9000000000000000000" });
    expect(replayed).toBe(202); // a genuine token: the edge cannot tell

    for (let i = 0; i < 3; i++) await chain.sendGmail(buildMail({ id: `after-replay-${i}@customer.example`, subject: `After the replay ${i}` }));
    await until(async () => (await chain.processed()) === 4, 20_000, "all four mails processed");
    const [tickets] = await chain.app.db.query<{ n: number }>("SELECT count(*)::int AS n FROM tickets WHERE tenant_id = 'acme'");
    expect(tickets!.n).toBe(4);

    await until(async () => logs.events("inbound_email_queue_skip").some((e) => e.reason === "source_unavailable:gmail_history_ahead"), 20_000, "the replayed push skipped");
    expect(await chain.app.queue.stats()).toMatchObject({ ready: 0, delayed: 0, dlq: 0 });
  }, 90_000);
});
