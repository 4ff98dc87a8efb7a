// The pointer queue: typed transitions over the Lua scripts in ./lua, one script call each.
// Guarantees (each has a test in test/node/queue): atomic transitions, tenants served in turn
// and FIFO within a tenant, fenced ack/fail/renew, leases renewed by heartbeat, nothing lost or
// stuck at any crash point, dead letters that keep everything, and a wake marker instead of
// polling.
import * as z from "zod/mini";
import type { QueueSettings } from "./config.ts";
import { isWellFormed, JOB_SCHEMA_VERSION, MAX_HISTORY_ID, parseJob, type Job, type NewJob } from "./job.ts";
import type { ScriptArg, ScriptClient, ScriptReply } from "./script.ts";
import { registryField } from "./registry.ts";
import { scripts } from "./scripts.generated.ts";

export interface Lease {
  jobId: string;
  token: string;
}

export interface Claim extends Lease {
  job: Job;
  /** 1 for the first delivery; the job has been tried `delivery - 1` times before. */
  delivery: number;
  leaseUntil: number;
}

export interface ClaimResult {
  claims: Claim[];
  /** Redis time of the claim (ms). */
  now: number;
  /** When the earliest delayed retry is due, or undefined when none waits. */
  nextDelayedAt: number | undefined;
  /** Claimed payloads that failed the schema, dead-lettered at once. */
  rejected: { jobId: string; reason: string }[];
}

export type FailResult = { status: "retry"; dueAt: number } | { status: "dead"; attempts: number } | { status: "stale" };

export interface ReclaimResult {
  now: number;
  requeued: number;
  deadLettered: number;
  repaired: number;
  promoted: number;
  jobIds: string[];
}

/** One tenant's claim settings: `weight` jobs per turn (default 1), at most `maxInflight` in flight. */
export interface TenantSettings {
  weight?: number;
  maxInflight?: number;
}

export interface TenantStats {
  tenantId: string;
  ready: number;
  oldestReadyAgeMs: number | undefined;
  inflight: number;
  /** Held back at its max-inflight right now. */
  capped: boolean;
  settings: TenantSettings;
}

export const MAX_TENANT_WEIGHT = 1000;

const tenantSettingsSchema = z.object({
  weight: z.optional(z.int().check(z.minimum(1), z.maximum(MAX_TENANT_WEIGHT))),
  maxInflight: z.optional(z.int().check(z.minimum(1), z.maximum(1_000_000))),
});

/** How many arrivals one claim sorts into tenant lanes at most: a burst beyond it is sorted by
 * the next claims, so no one script holds Redis for long (5,000 take it about 10 ms; 20,000 in
 * one call took 40–80 ms on the benchmark machine). */
export const ROUTE_LIMIT = 5_000;

export interface QueueStats {
  now: number;
  ready: number;
  processing: number;
  inflight: number;
  delayed: number;
  dlq: number;
  oldestReadyAgeMs: number | undefined;
  nextRetryAt: number | undefined;
}

const deadLetterSchema = z.object({
  id: z.string(),
  reason: z.string(),
  attempts: z.number(),
  lastError: z.string(),
  enqueuedAt: z.nullable(z.number()),
  deadAt: z.number(),
  // Kept as Redis stored it: a dead letter may hold a job that no longer passes the schema.
  job: z.optional(z.record(z.string(), z.unknown())),
  payload: z.optional(z.string()),
});

export type DeadLetter = z.infer<typeof deadLetterSchema>;

/** One notification item for the edge's ingest script (see lua/ingest-6.lua). */
export interface IngestItem {
  registryField: string;
  job: NewJob;
  secretHash?: string;
  dedupeKey?: string;
  /** Gmail: the push's historyId (canonical decimal), for the staleness filter. */
  historyId?: string;
}

/** `invalid`: refused here, before the script (the job or a key fails the schema); never sent. */
export type IngestOutcome = "enqueued" | "unknown" | "forbidden" | "stale" | "duplicate" | "invalid";

/** Longest registry field, dedupe key or request guard the queue accepts (ids are bounded by the
 * job schema; this bounds the keys built from them). */
export const MAX_KEY_LENGTH = 2048;

const validKey = (key: string | undefined): boolean => key === undefined || (key.length <= MAX_KEY_LENGTH && isWellFormed(key));

/** A decimal the scripts take as-is: digits, no leading zero, at most 2^64 - 1. */
export function isCanonicalDecimal(text: string): boolean {
  return /^[1-9]\d{0,19}$/.test(text) && BigInt(text) <= MAX_HISTORY_ID;
}

export interface EnqueueItem {
  job: NewJob;
  /** Repeats of this key within the dedupe TTL are dropped (ingress dedupe). */
  dedupeKey?: string;
}

const num = (reply: ScriptReply | undefined): number => {
  if (typeof reply === "number") return reply;
  if (typeof reply === "string" && reply !== "" && Number.isFinite(Number(reply))) return Number(reply);
  throw new Error(`queue: expected a number from Redis, got ${JSON.stringify(reply)}`);
};
const str = (reply: ScriptReply | undefined): string => {
  if (typeof reply === "string") return reply;
  if (typeof reply === "number") return String(reply);
  throw new Error(`queue: expected a string from Redis, got ${JSON.stringify(reply)}`);
};
const list = (reply: ScriptReply): ScriptReply[] => {
  if (Array.isArray(reply)) return reply;
  throw new Error(`queue: expected an array from Redis, got ${JSON.stringify(reply)}`);
};
const optionalTime = (value: number): number | undefined => (value < 0 ? undefined : value);
const pairs = (leases: readonly Lease[]): string[] => leases.flatMap((l) => [l.jobId, l.token]);

export const MAX_ERROR_LENGTH = 1024;

export class PointerQueue {
  readonly settings: QueueSettings;
  readonly #client: ScriptClient;
  readonly #tokenPrefix = crypto.randomUUID().slice(0, 8);
  #claims = 0;

  constructor(client: ScriptClient, settings: QueueSettings) {
    this.#client = client;
    this.settings = settings;
  }

  get keys() {
    return this.settings.keys;
  }

  /** Build full jobs (id, schema version, enqueue time) and validate them; throws on bad input. */
  static build(job: NewJob, now: number = Date.now()): Job {
    const parsed = parseJob({ ...job, jobId: job.jobId ?? crypto.randomUUID(), schemaVersion: JOB_SCHEMA_VERSION, enqueuedAt: now, attempt: 0 });
    if (!parsed.ok) throw new TypeError(`queue: refusing to enqueue ${parsed.reason}`);
    return parsed.job;
  }

  /** Enqueue jobs; throws a TypeError before any Redis call when an item is invalid (nothing is
   * written: the script checks everything again before its first write). */
  async enqueue(items: readonly EnqueueItem[]): Promise<{ enqueued: number; duplicates: number; jobs: Job[] }> {
    if (items.length === 0) return { enqueued: 0, duplicates: 0, jobs: [] };
    const now = Date.now();
    const jobs = items.map((item) => PointerQueue.build(item.job, now));
    items.forEach((item, i) => {
      if (!validKey(item.dedupeKey)) throw new TypeError(`queue: refusing to enqueue item ${i + 1}: invalid dedupe key`);
    });
    const { keys } = this;
    const args: ScriptArg[] = [this.settings.dedupeTtlMs, keys.lanes];
    jobs.forEach((job, i) => args.push(items[i]?.dedupeKey ?? "", JSON.stringify(job)));
    const reply = list(await this.#client.run(scripts.enqueue, [keys.rotation, keys.wake, keys.dedupe], args));
    return { enqueued: num(reply[0]), duplicates: num(reply[1]), jobs };
  }

  /** The edge's one round trip: registry check, dedupe and enqueue, atomically. Jobs are built
   * (and validated) here with placeholder tenantId/providerId ("-"): the script writes the
   * registry entry's values into each job it enqueues. An item that fails validation is not sent
   * (outcome `invalid`) and the others go on; when none is left, Redis is not called at all. */
  async ingest(provider: string, items: readonly IngestItem[], options: { requestGuard?: string; invalid?: number } = {}): Promise<{ replay: true } | { replay: false; outcomes: IngestOutcome[]; jobIds: (string | undefined)[] }> {
    const now = Date.now();
    const outcomes: IngestOutcome[] = [];
    const jobIds: (string | undefined)[] = [];
    const sent: number[] = [];
    const args: ScriptArg[] = [this.settings.dedupeTtlMs, options.requestGuard ?? "", provider, 0, this.keys.lanes];
    items.forEach((item, i) => {
      const parsed = parseJob({ ...item.job, jobId: item.job.jobId ?? crypto.randomUUID(), schemaVersion: JOB_SCHEMA_VERSION, enqueuedAt: now, attempt: 0 });
      const valid =
        parsed.ok && item.registryField !== "" && validKey(item.registryField) && validKey(item.dedupeKey) && validKey(item.secretHash) && (item.historyId === undefined || isCanonicalDecimal(item.historyId));
      outcomes.push("invalid");
      jobIds.push(undefined);
      if (!valid || !parsed.ok) return;
      sent.push(i);
      jobIds[i] = parsed.job.jobId;
      args.push(item.registryField, item.secretHash ?? "", item.dedupeKey ?? "", item.historyId ?? "", JSON.stringify(parsed.job));
    });
    if (sent.length === 0) return { replay: false, outcomes, jobIds };
    args[3] = (options.invalid ?? 0) + items.length - sent.length;
    if (!validKey(options.requestGuard) || !isWellFormed(provider)) throw new TypeError("queue: invalid request guard or provider");
    const { keys } = this;
    const reply = list(await this.#client.run(scripts.ingest, [keys.rotation, keys.wake, keys.dedupe, keys.registry, keys.gmailCursor, keys.counters], args));
    if (reply[0] === "replay") return { replay: true };
    sent.forEach((index, n) => {
      const outcome = str(reply[n]) as IngestOutcome;
      outcomes[index] = outcome;
      if (outcome !== "enqueued") jobIds[index] = undefined;
    });
    return { replay: false, outcomes, jobIds };
  }

  /** The consumer confirms how far it has read a Gmail mailbox (its cursor, after it moved it):
   * the edge then drops pushes at or below that historyId as stale. Call it after every cursor
   * update (partial sync and resync); the stored value only rises, so out-of-order calls are
   * harmless. Returns the value stored. `historyId` may carry leading zeros; it is normalised. */
  async confirmGmailCursor(emailAddress: string, historyId: string): Promise<string> {
    const canonical = /^\d{1,40}$/.test(historyId) ? BigInt(historyId).toString() : "";
    if (!isCanonicalDecimal(canonical)) throw new TypeError(`queue: ${JSON.stringify(historyId)} is not a Gmail historyId`);
    const field = registryField.googleMailbox(emailAddress);
    if (!validKey(field)) throw new TypeError("queue: invalid Gmail address");
    return str(await this.#client.run(scripts.gmailCursor, [this.keys.gmailCursor], [field, canonical]));
  }

  /** Claim up to `count` jobs, tenants in turn (see lua/includes/claim.lua). With `ack`, those
   * leases are acked in the same script call first (a consumer whose slots free up spends one
   * round trip per job); `acked` has one boolean per lease, false when it was stale. */
  async claim(options: { count?: number; woken?: boolean; promoteLimit?: number; ack?: readonly Lease[] } = {}): Promise<ClaimResult & { acked: boolean[] }> {
    const { keys } = this;
    const token = `${this.#tokenPrefix}-${(this.#claims++).toString(36)}`;
    const acks = options.ack ?? [];
    const reply = list(
      await this.#client.run(
        acks.length > 0 ? scripts.ackClaim : scripts.claim,
        [keys.ready, keys.processing, keys.inflight, keys.lease, keys.dlq, keys.delayed, keys.wake, keys.rotation, keys.capped, keys.tenantInflight, keys.tenantConfig, keys.turn],
        [options.count ?? 1, token, this.settings.claimTtlMs, options.woken ? "1" : "0", options.promoteLimit ?? 100, keys.lanes, ROUTE_LIMIT, ...pairs(acks)],
      ),
    );
    // ack-claim puts the ack results first: { count, r1..rN, then claim's reply }.
    const base = acks.length > 0 ? num(reply[0]) + 1 : 0;
    const acked = reply.slice(1, base).map((r) => num(r) === 1);
    const leaseUntil = num(reply[base + 1]);
    const result: ClaimResult & { acked: boolean[] } = { claims: [], now: num(reply[base]), nextDelayedAt: optionalTime(num(reply[base + 2])), rejected: [], acked };
    for (let i = base + 3; i + 3 < reply.length; i += 4) {
      const jobId = str(reply[i]);
      const lease = { jobId, token: str(reply[i + 1]) };
      const delivery = num(reply[i + 2]);
      const parsed = parseRaw(str(reply[i + 3]));
      if (parsed.ok) {
        result.claims.push({ ...lease, job: parsed.job, delivery, leaseUntil });
      } else {
        await this.fail(lease, { error: parsed.reason, permanent: true });
        result.rejected.push({ jobId, reason: parsed.reason });
      }
    }
    return result;
  }

  /** Ack finished jobs; one boolean per lease, false when the lease was stale (fenced). */
  async ack(leases: readonly Lease[]): Promise<boolean[]> {
    if (leases.length === 0) return [];
    const { keys } = this;
    const reply = list(await this.#client.run(scripts.ack, [keys.inflight, keys.processing, keys.lease, keys.tenantInflight, keys.capped, keys.rotation, keys.wake, keys.tenantConfig], pairs(leases)));
    return reply.map((r) => num(r) === 1);
  }

  async fail(lease: Lease, failure: { error: string; permanent?: boolean; retryAfterMs?: number }): Promise<FailResult> {
    const { keys, settings } = this;
    const reply = list(
      await this.#client.run(scripts.fail, [keys.inflight, keys.processing, keys.lease, keys.delayed, keys.dlq, keys.wake, keys.tenantInflight, keys.capped, keys.rotation, keys.tenantConfig], [
        lease.jobId,
        lease.token,
        failure.error.slice(0, MAX_ERROR_LENGTH),
        failure.permanent ? "dead" : "retry",
        settings.maxAttempts,
        settings.backoffBaseMs,
        settings.backoffMaxMs,
        Math.random(),
        Math.max(0, Math.ceil(failure.retryAfterMs ?? 0)),
      ]),
    );
    const status = str(reply[0]);
    if (status === "retry") return { status, dueAt: num(reply[1]) };
    if (status === "dead") return { status, attempts: num(reply[1]) };
    return { status: "stale" };
  }

  /** Heartbeat: extend leases still held; false for those that are no longer ours. */
  async renew(leases: readonly Lease[]): Promise<{ leaseUntil: number; renewed: boolean[] }> {
    const { keys } = this;
    const reply = list(await this.#client.run(scripts.renew, [keys.inflight, keys.lease], [this.settings.claimTtlMs, ...pairs(leases)]));
    return { leaseUntil: num(reply[0]), renewed: reply.slice(1).map((r) => num(r) === 1) };
  }

  /** Give jobs back without counting an attempt (graceful shutdown): each to the front of its
   * tenant's lane, in the order given. */
  async release(leases: readonly Lease[]): Promise<boolean[]> {
    if (leases.length === 0) return [];
    const { keys } = this;
    const reply = list(
      await this.#client.run(scripts.release, [keys.inflight, keys.processing, keys.lease, keys.rotation, keys.wake, keys.tenantInflight, keys.capped, keys.tenantConfig], [keys.lanes, ...pairs(leases)]),
    );
    return reply.map((r) => num(r) === 1);
  }

  async reclaim(limit = 1000): Promise<ReclaimResult> {
    const { keys } = this;
    const reply = list(
      await this.#client.run(
        scripts.reclaim,
        [keys.ready, keys.processing, keys.inflight, keys.lease, keys.delayed, keys.dlq, keys.wake, keys.dedupe, keys.rotation, keys.capped, keys.tenantInflight, keys.tenantConfig],
        [this.settings.maxAttempts, limit],
      ),
    );
    return {
      now: num(reply[0]),
      requeued: num(reply[1]),
      deadLettered: num(reply[2]),
      repaired: num(reply[3]),
      promoted: num(reply[4]),
      jobIds: reply.slice(5).map(str),
    };
  }

  async promote(limit = 1000): Promise<{ promoted: number; nextDueAt: number | undefined }> {
    const { keys } = this;
    const reply = list(await this.#client.run(scripts.promote, [keys.delayed, keys.ready, keys.wake], [limit]));
    return { promoted: num(reply[0]), nextDueAt: optionalTime(num(reply[1])) };
  }

  async stats(): Promise<QueueStats> {
    const { keys } = this;
    const r = list(await this.#client.run(scripts.stats, [keys.ready, keys.processing, keys.inflight, keys.delayed, keys.dlq, keys.rotation, keys.capped], [keys.lanes]));
    const now = num(r[0]);
    const oldest = optionalTime(num(r[6]));
    return {
      now,
      ready: num(r[1]),
      processing: num(r[2]),
      inflight: num(r[3]),
      delayed: num(r[4]),
      dlq: num(r[5]),
      oldestReadyAgeMs: oldest === undefined ? undefined : Math.max(0, now - oldest),
      nextRetryAt: optionalTime(num(r[7])),
    };
  }

  /** Each tenant's backlog, oldest ready job, jobs in flight and settings, by backlog (largest
   * first). Sorts waiting arrivals into their lanes first, as a claim would. */
  async tenantStats(): Promise<{ now: number; unsorted: number; tenants: TenantStats[] }> {
    const { keys } = this;
    const r = list(await this.#client.run(scripts.tenantStats, [keys.ready, keys.rotation, keys.capped, keys.inflight, keys.tenantConfig], [keys.lanes, ROUTE_LIMIT]));
    const now = num(r[0]);
    const tenants: TenantStats[] = [];
    for (let i = 2; i + 5 < r.length; i += 6) {
      const oldest = optionalTime(num(r[i + 2]));
      tenants.push({
        tenantId: str(r[i]),
        ready: num(r[i + 1]),
        oldestReadyAgeMs: oldest === undefined ? undefined : Math.max(0, now - oldest),
        inflight: num(r[i + 3]),
        capped: num(r[i + 4]) === 1,
        settings: parseTenantSettings(str(r[i + 5])),
      });
    }
    tenants.sort((a, b) => b.ready - a.ready || b.inflight - a.inflight || a.tenantId.localeCompare(b.tenantId));
    return { now, unsorted: num(r[1]), tenants };
  }

  /** Set a tenant's claim settings (replacing earlier ones); throws a TypeError on bad values. */
  async setTenant(tenantId: string, settings: TenantSettings): Promise<void> {
    const parsed = tenantSettingsSchema.safeParse(settings);
    if (!parsed.success) throw new TypeError(`queue: invalid tenant settings: weight is a whole number 1–${MAX_TENANT_WEIGHT}, maxInflight a whole number ≥ 1`);
    if (tenantId === "" || !validKey(tenantId)) throw new TypeError("queue: invalid tenant id");
    const value: TenantSettings = {};
    if (parsed.data.weight !== undefined) value.weight = parsed.data.weight;
    if (parsed.data.maxInflight !== undefined) value.maxInflight = parsed.data.maxInflight;
    const { keys } = this;
    await this.#client.run(scripts.tenantSet, [keys.tenantConfig, keys.capped, keys.rotation, keys.wake, keys.inflight, keys.tenantInflight], [tenantId, JSON.stringify(value)]);
  }

  /** Back to the defaults (weight 1, no cap); false when the tenant had no settings. */
  async clearTenant(tenantId: string): Promise<boolean> {
    const { keys } = this;
    return num(await this.#client.run(scripts.tenantSet, [keys.tenantConfig, keys.capped, keys.rotation, keys.wake, keys.inflight, keys.tenantInflight], [tenantId, ""])) === 1;
  }

  /** Every tenant that has settings. */
  async tenants(): Promise<{ tenantId: string; settings: TenantSettings }[]> {
    const reply = list(await this.#client.run(scripts.tenantList, [this.keys.tenantConfig], []));
    const out: { tenantId: string; settings: TenantSettings }[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) out.push({ tenantId: str(reply[i]), settings: parseTenantSettings(str(reply[i + 1])) });
    return out.sort((a, b) => a.tenantId.localeCompare(b.tenantId));
  }

  /** Write a provider registry entry for the edge (see registry.ts), replacing `replaces` if given. */
  async setRegistryEntry(field: string, value: string, replaces = ""): Promise<void> {
    await this.#client.run(scripts.registrySet, [this.keys.registry], [field, value, replaces]);
  }

  /** Remove a registry entry: the edge then refuses that provider's notifications. */
  async removeRegistryEntry(field: string): Promise<boolean> {
    return num(await this.#client.run(scripts.registrySet, [this.keys.registry], [field, "", ""])) > 0;
  }

  /** Ingress counters by `<provider>:<outcome>` (enqueued, duplicate, stale, unknown, forbidden, invalid, replay).
   * `invalid` counts the items dropped from requests that reached Redis; a request with no item
   * that could be valid makes no Redis call, and is counted in its log line only. */
  async ingressCounters(): Promise<Record<string, number>> {
    const reply = list(await this.#client.run(scripts.counters, [this.keys.counters], []));
    const out: Record<string, number> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) out[str(reply[i])] = num(reply[i + 1]);
    return out;
  }

  async deadLetters(offset = 0, limit = 100): Promise<{ total: number; records: DeadLetter[] }> {
    const reply = list(await this.#client.run(scripts.dlqList, [this.keys.dlq], [offset, offset + limit - 1]));
    return { total: num(reply[0]), records: reply.slice(1).map((r) => deadLetterSchema.parse(JSON.parse(str(r)))) };
  }

  /** Redrive one dead letter (by id) or all ('*') to the ready list with attempts reset. */
  async requeueDeadLetters(id: string | "*", scanLimit = 100_000): Promise<number> {
    const { keys } = this;
    return num(await this.#client.run(scripts.dlqRequeue, [keys.dlq, keys.ready, keys.wake], [id, scanLimit]));
  }

  async purgeDeadLetters(id: string | "*", scanLimit = 100_000): Promise<number> {
    return num(await this.#client.run(scripts.dlqPurge, [this.keys.dlq], [id, scanLimit]));
  }
}

function parseTenantSettings(raw: string): TenantSettings {
  if (raw === "") return {};
  try {
    const parsed = tenantSettingsSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

function parseRaw(raw: string): ReturnType<typeof parseJob> {
  try {
    return parseJob(JSON.parse(raw));
  } catch {
    return { ok: false, reason: "malformed_payload" };
  }
}
