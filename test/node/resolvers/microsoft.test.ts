// Microsoft Graph resolver against the local Graph fake (real wire format, real HTTP).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeGraph, type FakeGraph } from "../../../consumer/dev/fakes/graph.ts";
import { createMicrosoftResolver } from "../../../consumer/resolvers/microsoft.ts";
import { TokenCache } from "../../../consumer/resolvers/token-cache.ts";
import { InletError } from "../../../consumer/runtime/errors.ts";
import type { MailboxRecord } from "../../../consumer/runtime/handler.ts";
import type { Job } from "../../../src/queue/job.ts";
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

const mailbox = (credentials = APP): MailboxRecord => ({ providerId: "ms-1", tenantId: "t1", kind: "microsoft", address: MAILBOX, credentials: { type: "microsoft", ...credentials }, cursors: {}, bulkMailOpensTickets: false });
const job = (messageId: string): Job => ({ jobId: "j", schemaVersion: 1, provider: "microsoft", tenantId: "t1", providerId: "ms-1", enqueuedAt: 0, attempt: 0, pointer: { subscriptionId: "s", messageId, resource: `Users/${MAILBOX}/Messages/${messageId}`, changeType: "created" } });

function setup(timeoutMs = 2000) {
  const tokens = new TokenCache();
  const resolver = createMicrosoftResolver({ graphBaseUrl: graph.graphBaseUrl, loginBaseUrl: graph.loginBaseUrl, tokens, timeoutMs });
  const processor = new RecordingProcessor();
  const run = (j: Job, m = mailbox()) => resolver.handle({ job: j, mailbox: m, directory: new MemoryDirectory([m]), processor, signal: new AbortController().signal });
  return { run, processor, tokens };
}

const code = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return "no error";
  } catch (error) {
    return error instanceof InletError ? `${error.disposition}:${error.code}${error.retryAfterMs !== undefined ? `:${error.retryAfterMs}` : ""}` : String(error);
  }
};

describe("Microsoft Graph resolver", () => {
  it("hands the exact MIME bytes to processing, with an app-only token cached across jobs", async () => {
    const { run, processor, tokens } = setup();
    const raw = buildMail({ id: "graph-1@example.org", body: "Ünïcödé body\r\n.\r\nwith a lone dot line" });
    const id = graph.addMessage(MAILBOX, raw);
    const second = graph.addMessage(MAILBOX, buildMail({ id: "graph-2@example.org" }));
    expect(await run(job(id))).toMatchObject({ outcome: "processed", messages: [{ outcome: "processed" }] });
    await run(job(second));
    expect(processor.received[0]).toMatchObject({ provider: "microsoft", tenantId: "t1", providerId: "ms-1", providerMessageId: id });
    expect(Buffer.from(processor.received[0]!.raw).equals(Buffer.from(raw))).toBe(true);
    expect(tokens.requests).toBe(1);
  });

  it("a message that is gone is skipped with source_unavailable:microsoft_message_not_found", async () => {
    const { run } = setup();
    expect(await code(run(job("AAMk-deleted")))).toBe("skip:source_unavailable:microsoft_message_not_found");
  });

  it("429 with Retry-After and 5xx are transient; a fetch slower than the timeout is transient", async () => {
    const { run } = setup(300);
    const throttled = graph.addMessage(MAILBOX, buildMail({ id: "t@example.org" }));
    graph.faults.set(`message:${throttled}`, { status: 429, retryAfter: "7", times: 1 });
    expect(await code(run(job(throttled)))).toBe("retry:microsoft_fetch_http_429:7000");
    const broken = graph.addMessage(MAILBOX, buildMail({ id: "b@example.org" }));
    graph.faults.set(`message:${broken}`, { status: 503, times: 1 });
    expect(await code(run(job(broken)))).toBe("retry:microsoft_fetch_http_503");
    const slow = graph.addMessage(MAILBOX, buildMail({ id: "s@example.org" }));
    graph.faults.set(`message:${slow}`, { delayMs: 1000, times: 1 });
    expect(await code(run(job(slow)))).toBe("retry:microsoft_fetch_timeout");
    expect(await run(job(throttled))).toMatchObject({ outcome: "processed" }); // the fault has passed
  });

  it("revoked credentials are permanent", async () => {
    const { run } = setup();
    expect(await code(run(job("x"), mailbox({ ...APP, clientSecret: "rotated" })))).toBe("dead_letter:microsoft_auth_revoked");
  });
});
