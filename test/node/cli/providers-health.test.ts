// `inlet providers list | renew ID | resync ID` against the queue and database of a running
// consumer (the same operations the console's mailbox page calls): the list shows each mailbox's
// health, renew ID renews at Graph whatever the expiry, resync ID sweeps at once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlet } from "../../support/cli.ts";
import { buildMail } from "../../support/mail.ts";
import { MAILBOX, startOperatedConsumer, testPort, untilDeadLettered, type OperatedConsumer } from "../../support/operated-consumer.ts";
import { until } from "../../support/until.ts";

let c: OperatedConsumer;
beforeAll(async () => {
  c = await startOperatedConsumer({ port: testPort(140) });
}, 120_000);
afterAll(async () => c?.close());

describe("inlet providers, with health", () => {
  it("list shows the status, why, the last notification and the failures in a row", async () => {
    const { jobId } = await c.deliver("Refused", { fault: { status: 400 } });
    await untilDeadLettered(c, jobId);
    await until(async () => (await c.app.health.checkStatuses()).some((h) => h.consecutiveFailures === 1), 10_000, "the health flush");
    const listed = await inlet(["providers", "list"], c.env);
    expect(listed.code).toBe(0);
    const line = listed.stdout.split("\n").find((l) => l.startsWith(c.providerId))!;
    expect(line).toMatch(/microsoft\s+acme\s+helpdesk@acme\.example\s+degraded\s+1 job\(s\) failed since the last success \(last: microsoft_fetch_http_400\)\s+\d{4}-\d\d-\d\dT\S+\s+-\s+1\s+\d{4}-/);
    const json = JSON.parse((await inlet(["providers", "list", "--json"], c.env)).stdout) as { id: string; health: { derived: { status: string }; lastError: { code: string } } }[];
    expect(json[0]).toMatchObject({ id: c.providerId, health: { derived: { status: "degraded" }, lastError: { code: "microsoft_fetch_http_400" } } });
  });

  it("renew ID renews the subscription now, though it is not due; an unknown id fails", async () => {
    const before = (await c.app.mailboxes.get(c.providerId))!.cursors.graphSubscriptionExpiresAt!;
    await new Promise((r) => setTimeout(r, 5));
    const result = await inlet(["providers", "renew", c.providerId, "--json"], c.env);
    expect(result.code).toBe(0);
    const [report] = JSON.parse(result.stdout) as { action: string; expiresAt: string }[];
    expect(report!.action).toBe("renewed");
    expect(Date.parse(report!.expiresAt)).toBeGreaterThan(Date.parse(before));
    const unknown = await inlet(["providers", "renew", "no-such-mailbox"], c.env);
    expect(unknown).toMatchObject({ code: 1, stderr: "inlet: no connected mailbox with id no-such-mailbox\n" });
  });

  it("resync ID sweeps now: mail no notification announced is enqueued and becomes a ticket", async () => {
    await c.app.mailboxes.updateCursors(c.providerId, { graphDeltaSince: new Date(Date.now() - 3600_000).toISOString() });
    c.graph.addMessage(MAILBOX, buildMail({ id: "resync-cli@customer.example", subject: "Nobody told us" }), undefined, new Date(Date.now() - 300_000));
    const tickets = await c.tickets();
    const result = await inlet(["providers", "resync", c.providerId], c.env);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(new RegExp(`^${c.providerId}: listed \\d+, enqueued \\d+, of which 1 no notification had announced\\n$`));
    await until(async () => (await c.tickets()) === tickets + 1, 20_000, "the swept mail's ticket");
    expect((await c.app.mailboxes.get(c.providerId))!.cursors.lastSweep).toMatchObject({ found: 1 });
  });
});
