// Microsoft Graph resolver against the local Graph fake (real wire format over real HTTP): token
// endpoint, $value with Prefer: IdType="ImmutableId", Graph error bodies, injected faults.
import { DEFAULT_LIMITS } from "../../../consumer/config.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeGraph, type FakeGraph } from "../../../dev/fakes/graph.ts";
import { createMicrosoftResolver } from "../../../consumer/resolvers/microsoft.ts";
import { TokenCache } from "../../../consumer/auth/token-cache.ts";
import { GraphClient } from "../../../consumer/provider-api/graph-client.ts";
import { InletError } from "../../../consumer/domain/errors.ts";
import type { MailboxOf } from "../../../consumer/domain/mailbox.ts";
import type { MessageJob } from "../../../consumer/domain/job.ts";
import { outcomeOf } from "../../support/outcome.ts";
import { MemoryDirectory } from "../../support/mailboxes.ts";
import { buildMail } from "../../support/mail.ts";
import { RecordingProcessor } from "../../support/recording-processor.ts";

const APP = { azureTenantId: "contoso-tenant", clientId: "app-client", clientSecret: "app-secret" };
const MAILBOX = "helpdesk@contoso.example";
let graph: FakeGraph;
beforeAll(async () => {
  graph = await startFakeGraph();
  graph.addApp(APP);
});
afterAll(async () => graph.close());

const mailbox = (credentials = APP): MailboxOf<"microsoft"> => ({ providerId: "ms-1", tenantId: "t1", kind: "microsoft", address: MAILBOX, credentials: { type: "microsoft", ...credentials }, cursors: {}, bulkMailOpensTickets: false });
const job = (messageId: string): MessageJob<"microsoft"> => ({ jobId: "j", schemaVersion: 1, provider: "microsoft", tenantId: "t1", providerId: "ms-1", enqueuedAt: 0, attempt: 0, pointer: { subscriptionId: "s", messageId, resource: `Users/${MAILBOX}/Messages/${messageId}`, changeType: "created" } });

function setup(timeoutMs = 2000) {
  const tokens = new TokenCache();
  const resolver = createMicrosoftResolver({ graph: new GraphClient({ graphBaseUrl: graph.graphBaseUrl, loginBaseUrl: graph.loginBaseUrl, tokens, timeoutMs }), maxMessageBytes: DEFAULT_LIMITS.maxMessageBytes });
  const processor = new RecordingProcessor();
  const run = (j: MessageJob<"microsoft">, m = mailbox(), signal = new AbortController().signal) => resolver.handle({ job: j, mailbox: m, directory: new MemoryDirectory([m]), processor, signal });
  return { run, processor, tokens };
}


describe("Microsoft Graph resolver", () => {
  it("hands the exact MIME bytes to processing, keyed by the immutable id; one app-only token serves several jobs", async () => {
    const { run, processor, tokens } = setup();
    const before = graph.tokenRequests();
    const raw = buildMail({ id: "graph-1@example.org", body: "Ünïcödé body\r\n.\r\nwith a lone dot line\r\n\r\n" });
    const id = graph.addMessage(MAILBOX, raw);
    const second = graph.addMessage(MAILBOX, buildMail({ id: "graph-2@example.org" }));
    expect(await run(job(id))).toEqual({ outcome: "processed", messages: [{ outcome: "processed", effect: "ticket", ticketId: "1" }] });
    await run(job(second));
    expect(processor.received[0]).toMatchObject({ provider: "microsoft", tenantId: "t1", providerId: "ms-1", providerMessageId: id });
    expect(Buffer.from(processor.received[0]!.raw).equals(Buffer.from(raw))).toBe(true);
    expect([tokens.requests, graph.tokenRequests() - before]).toEqual([1, 1]);
  });

  it("concurrent jobs share one token request (single flight)", async () => {
    const { run, tokens } = setup();
    graph.faults.set("token", { delayMs: 150, times: 1 });
    const ids = [1, 2, 3, 4].map((i) => graph.addMessage(MAILBOX, buildMail({ id: `sf-${i}@example.org` })));
    const results = await Promise.all(ids.map((id) => run(job(id))));
    expect(results.every((r) => r.outcome === "processed")).toBe(true);
    expect(tokens.requests).toBe(1);
  });

  it("a message that is gone is skipped with source_unavailable:microsoft_message_not_found", async () => {
    const { run, processor } = setup();
    expect(await outcomeOf(run(job("AAMk-deleted")))).toBe("skip:source_unavailable:microsoft_message_not_found");
    expect(processor.received).toHaveLength(0);
  });

  it("429 with Retry-After and 5xx are transient; a slow answer and a stalled body hit the timeout and are transient", async () => {
    const { run } = setup(300);
    const throttled = graph.addMessage(MAILBOX, buildMail({ id: "t@example.org" }));
    graph.faults.set(`message:${throttled}`, { status: 429, retryAfter: "7", times: 1 });
    expect(await outcomeOf(run(job(throttled)))).toBe("retry:microsoft_fetch_http_429:7000");
    const broken = graph.addMessage(MAILBOX, buildMail({ id: "b@example.org" }));
    graph.faults.set(`message:${broken}`, { status: 503, times: 1 });
    expect(await outcomeOf(run(job(broken)))).toBe("retry:microsoft_fetch_http_503");
    const slow = graph.addMessage(MAILBOX, buildMail({ id: "s@example.org" }));
    graph.faults.set(`message:${slow}`, { delayMs: 1000, times: 1 });
    expect(await outcomeOf(run(job(slow)))).toBe("retry:microsoft_fetch_timeout");
    const stalled = graph.addMessage(MAILBOX, buildMail({ id: "stalled@example.org" }));
    graph.faults.set(`message:${stalled}`, { stallBodyMs: 1000, times: 1 });
    expect(await outcomeOf(run(job(stalled)))).toBe("retry:microsoft_fetch_timeout");
    expect(await run(job(throttled))).toMatchObject({ outcome: "processed" }); // the fault has passed
    expect(await run(job(stalled))).toMatchObject({ outcome: "processed" });
  });

  it("a token revoked before its expiry is replaced once and the job succeeds", async () => {
    const { run, tokens } = setup();
    const id = graph.addMessage(MAILBOX, buildMail({ id: "revoked-early@example.org" }));
    await run(job(graph.addMessage(MAILBOX, buildMail({ id: "warm@example.org" }))));
    graph.revokeTokens();
    expect(await run(job(id))).toMatchObject({ outcome: "processed" });
    expect(tokens.requests).toBe(2);
  });

  it("401 again with a fresh token, or a token endpoint that refuses the credentials, is permanent", async () => {
    const { run } = setup();
    const id = graph.addMessage(MAILBOX, buildMail({ id: "denied@example.org" }));
    graph.faults.set(`message:${id}`, { status: 401, body: { error: { code: "InvalidAuthenticationToken", message: "Access token validation failure." } }, times: 2 });
    expect(await outcomeOf(run(job(id)))).toBe("dead_letter:microsoft_auth_revoked");
    graph.faults.set(`message:${id}`, { status: 403, body: { error: { code: "ErrorAccessDenied", message: "Access is denied." } }, times: 2 });
    expect(await outcomeOf(run(job(id)))).toBe("dead_letter:microsoft_access_denied");
    expect(await outcomeOf(run(job(id), mailbox({ ...APP, clientSecret: "rotated" })))).toBe("dead_letter:microsoft_auth_revoked");
  });

  it("the job's abort (shutdown, lease lost) ends the fetch with the job's own reason", async () => {
    const { run } = setup(5000);
    const id = graph.addMessage(MAILBOX, buildMail({ id: "aborted@example.org" }));
    graph.faults.set(`message:${id}`, { delayMs: 2000, times: 1 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new InletError("shutdown", "consumer shutting down", { disposition: "retry" })), 100);
    expect(await outcomeOf(run(job(id), mailbox(), controller.signal))).toBe("retry:shutdown");
  });
});
