// The consumer's configuration is read once, with one set of defaults, and a malformed value
// stops the start with a message that names the variable.
import { describe, expect, it } from "vitest";
import { consumerConfig, DEFAULT_CONCURRENCY, DEFAULT_LIMITS, DEFAULT_PREFETCH } from "../../consumer/config.ts";

describe("consumer configuration", () => {
  it("an empty environment gives the documented defaults", () => {
    const config = consumerConfig({});
    expect(config).toMatchObject({
      redis: { transport: "tcp", url: "redis://127.0.0.1:6379" },
      databaseUrl: undefined,
      dataDir: ".inlet",
      concurrency: DEFAULT_CONCURRENCY,
      prefetch: DEFAULT_PREFETCH,
      limits: DEFAULT_LIMITS,
      providers: { graphBaseUrl: "https://graph.microsoft.com/v1.0", gmailBaseUrl: "https://gmail.googleapis.com", fetchTimeoutMs: 30_000 },
      imapListener: undefined,
    });
    expect(config.settings.maxAttempts).toBe(5);
  });

  it("REST when only Upstash is configured, TCP when REDIS_URL is set as well; the listener when its URL and secret are set and it is not turned off", () => {
    const rest = { UPSTASH_REDIS_REST_URL: "https://eu1.upstash.io", UPSTASH_REDIS_REST_TOKEN: "tok" };
    expect(consumerConfig(rest).redis).toEqual({ transport: "rest", url: "https://eu1.upstash.io", token: "tok" });
    expect(consumerConfig({ ...rest, REDIS_URL: "redis://r:6379" }).redis).toEqual({ transport: "tcp", url: "redis://r:6379" });
    const listener = { INGRESS_URL: "https://edge.example", IMAP_WEBHOOK_SECRET: "s" };
    expect(consumerConfig(listener).imapListener).toEqual({ ingressUrl: "https://edge.example", webhookSecret: "s", leaseTtlMs: 10_000, maxMailboxes: undefined });
    expect(consumerConfig({ ...listener, INLET_IMAP_MAX_MAILBOXES: "400" }).imapListener?.maxMailboxes).toBe(400);
    expect(consumerConfig({}).replicaTtlMs).toBe(6_000);
    expect(consumerConfig({}).reclaimIntervalMs).toBe(5_000);
    expect(consumerConfig({}).settings.claimTtlMs).toBe(10_000);
    // How soon a crashed replica's IMAP mailboxes are watched again is the operator's to choose.
    expect(consumerConfig({ ...listener, INLET_IMAP_LEASE_TTL_MS: "6000" }).imapListener?.leaseTtlMs).toBe(6000);
    expect(consumerConfig({ ...listener, INLET_IMAP_LISTENER: "0" }).imapListener).toBeUndefined();
  });

  it("a malformed value names its variable", () => {
    expect(() => consumerConfig({ INLET_CONCURRENCY: "eight" })).toThrow(/INLET_CONCURRENCY must be a positive whole number, got "eight"/);
    expect(() => consumerConfig({ INLET_PREFETCH: "-1" })).toThrow(/INLET_PREFETCH must be a whole number, 0 or more/);
    expect(() => consumerConfig({ INLET_MAX_MESSAGE_BYTES: "0" })).toThrow(/INLET_MAX_MESSAGE_BYTES/);
    expect(() => consumerConfig({ MICROSOFT_GRAPH_BASE_URL: "graph.local" })).toThrow(/MICROSOFT_GRAPH_BASE_URL must be an absolute URL/);
    expect(() => consumerConfig({ UNIFIED_INBOUND_EMAIL_QUEUE_MAX_ATTEMPTS: "2.5" })).toThrow(/UNIFIED_INBOUND_EMAIL_QUEUE_MAX_ATTEMPTS/);
    expect(() => consumerConfig({ INGRESS_URL: "https://edge.example", IMAP_WEBHOOK_SECRET: "s", INLET_IMAP_MAX_MAILBOXES: "0" })).toThrow(/INLET_IMAP_MAX_MAILBOXES must be a positive whole number/);
    expect(() => consumerConfig({ INLET_REPLICA_TTL_MS: "later" })).toThrow(/INLET_REPLICA_TTL_MS/);
    expect(() => consumerConfig({ INLET_IMAP_LISTENER: "maybe" })).toThrow(/INLET_IMAP_LISTENER must be 1 or 0/);
    expect(() => consumerConfig({ INGRESS_URL: "https://edge.example", IMAP_WEBHOOK_SECRET: "s", INLET_IMAP_LEASE_TTL_MS: "soon" })).toThrow(/INLET_IMAP_LEASE_TTL_MS/);
  });
});
