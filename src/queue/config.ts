// Key names and tuning, from the environment, with the defaults README's configuration lists.
// Works on any record of strings: process.env in Node, the Worker's env bindings at the edge.
import { positiveInteger, positiveNumber, text, type Env } from "./env.ts";

export interface QueueKeys {
  /** The single ready list of the queue before tenant lanes, now the arrivals: each claim first
   * sorts what waits here into the tenants' lanes. What the old queue left here, and the jobs
   * reclaim, promote and dlq-requeue put back, wait here; enqueue and ingest write the lanes. */
  ready: string;
  processing: string;
  inflight: string;
  lease: string;
  dlq: string;
  /** Retries waiting for their backoff (zset: job JSON → due ms). */
  delayed: string;
  /** Wake marker consumers block on (zset; 'ready' at 0, 'delayed' at its due time). */
  wake: string;
  /** Ingress dedupe (zset: dedupe key → expiry ms). */
  dedupe: string;
  /** Provider registry for the edge (hash; see src/queue/registry.ts). */
  registry: string;
  /** Gmail history id each mailbox's consumer has confirmed (hash: registry field → historyId);
   * written only by the consumer (gmail-cursor script), read by ingest's staleness filter. */
  gmailCursor: string;
  /** Ingress counters (hash). */
  counters: string;
  /** Prefix of the per-tenant ready lists (lane prefix + tenantId). */
  lanes: string;
  /** Tenants with jobs in their lane, in the order they are served (list). */
  rotation: string;
  /** Tenants with jobs in their lane held back at their max-inflight (set). */
  capped: string;
  /** Jobs in flight of each tenant with a max-inflight (hash: tenantId → count). */
  tenantInflight: string;
  /** The turn the last claim cut short (string: "jobs still owed|tenantId"). */
  turn: string;
  /** Per-tenant claim settings (hash: tenantId → {"weight", "maxInflight"} JSON). */
  tenantConfig: string;
}

export interface QueueSettings {
  keys: QueueKeys;
  maxAttempts: number;
  claimTtlMs: number;
  /** First idle wait; it doubles up to idleMaxSeconds while the queue stays empty. */
  blockSeconds: number;
  idleMaxSeconds: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  dedupeTtlMs: number;
}

export const DEFAULT_PREFIX = "email:inbound:unified:pointer:";

export type { Env };

export function queueKeys(prefix: string = DEFAULT_PREFIX, env: Env = {}): QueueKeys {
  return {
    ready: env.UNIFIED_INBOUND_EMAIL_QUEUE_KEY ?? `${prefix}ready`,
    processing: env.UNIFIED_INBOUND_EMAIL_PROCESSING_QUEUE_KEY ?? `${prefix}processing`,
    inflight: env.UNIFIED_INBOUND_EMAIL_INFLIGHT_HASH_KEY ?? `${prefix}inflight`,
    lease: env.UNIFIED_INBOUND_EMAIL_INFLIGHT_LEASE_KEY ?? `${prefix}lease`,
    dlq: env.UNIFIED_INBOUND_EMAIL_DLQ_KEY ?? `${prefix}dlq`,
    delayed: `${prefix}delayed`,
    wake: `${prefix}wake`,
    dedupe: `${prefix}dedupe`,
    registry: `${prefix}registry`,
    gmailCursor: `${prefix}gmail-cursor`,
    counters: `${prefix}counters`,
    lanes: `${prefix}lane:`,
    rotation: `${prefix}tenants:rotation`,
    capped: `${prefix}tenants:capped`,
    tenantInflight: `${prefix}tenants:inflight`,
    tenantConfig: `${prefix}tenants:config`,
    turn: `${prefix}tenants:turn`,
  };
}

export function queueSettings(env: Env = {}): QueueSettings {
  return {
    keys: queueKeys(text(env, "UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX", DEFAULT_PREFIX), env),
    maxAttempts: positiveInteger(env, "UNIFIED_INBOUND_EMAIL_QUEUE_MAX_ATTEMPTS", 5),
    // Short, so a killed consumer's jobs are back in ready within ~15 s (the TTL, then the next
    // reclaim); running and prefetched jobs keep theirs by renewing every third of it.
    claimTtlMs: positiveNumber(env, "UNIFIED_INBOUND_EMAIL_QUEUE_CLAIM_TTL_MS", 10_000),
    blockSeconds: positiveNumber(env, "UNIFIED_INBOUND_EMAIL_QUEUE_BLOCK_SECONDS", 1),
    idleMaxSeconds: positiveNumber(env, "UNIFIED_INBOUND_EMAIL_QUEUE_IDLE_MAX_SECONDS", 30),
    backoffBaseMs: positiveNumber(env, "UNIFIED_INBOUND_EMAIL_QUEUE_BACKOFF_BASE_MS", 5_000),
    backoffMaxMs: positiveNumber(env, "UNIFIED_INBOUND_EMAIL_QUEUE_BACKOFF_MAX_MS", 15 * 60_000),
    dedupeTtlMs: positiveNumber(env, "UNIFIED_INBOUND_EMAIL_QUEUE_DEDUPE_TTL_MS", 24 * 3600_000),
  };
}
