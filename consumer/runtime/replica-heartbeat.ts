// A consumer replica's heartbeat: it announces itself in Redis (a sorted set of replica ids
// scored by expiry, under the queue prefix; see replica-heartbeat-2.lua) every third of
// INLET_REPLICA_TTL_MS, and learns from the same call which replicas are alive. The IMAP
// listener, the sweep and the provider upkeep divide the mailboxes among the live replicas
// (./mailbox-share.ts). A replica that stops cleanly leaves at once; one that dies drops out
// when its heartbeat expires, and the others' next share takes over its mailboxes.
import { randomUUID } from "node:crypto";
import type { ScriptClient, ScriptReply } from "../../src/queue/script.ts";
import { scripts } from "../../src/queue/scripts.generated.ts";
import type { Logger } from "./log.ts";
import type { Replica } from "./mailbox-share.ts";
import { periodic, type PeriodicTask } from "./periodic.ts";

export interface ReplicaHeartbeatOptions {
  scripts: ScriptClient;
  /** The queue's key prefix, e.g. `email:inbound:unified:pointer:` (keys `replicas`, `replicas:capacity`). */
  prefix: string;
  ttlMs: number;
  /** The most IMAP mailboxes it watches, told to the others so their share makes up for it:
   * INLET_IMAP_MAX_MAILBOXES, 0 when its IMAP listener is off, undefined for no cap. */
  capacity?: number | undefined;
  log: Logger;
  /** Default: a random id per process. */
  id?: string;
  /** Called when a heartbeat finds the live set changed (a replica joined, left or expired). */
  onChange?: () => void;
}

export class ReplicaHeartbeat {
  readonly id: string;
  readonly #o: ReplicaHeartbeatOptions;
  readonly #keys: [string, string];
  #live: Replica[];
  #task: PeriodicTask | undefined;
  /** Set by whoever shares by the live set (the IMAP listener), to look again at once. */
  onChange: (() => void) | undefined;

  constructor(options: ReplicaHeartbeatOptions) {
    this.#o = options;
    this.id = options.id ?? `replica-${randomUUID()}`;
    this.#keys = [`${options.prefix}replicas`, `${options.prefix}replicas:capacity`];
    this.#live = [{ id: this.id, capacity: options.capacity }];
    this.onChange = options.onChange;
  }

  get capacity(): number | undefined {
    return this.#o.capacity;
  }

  /** The live replicas as of the last heartbeat (this one always among them), in id order. */
  get live(): readonly Replica[] {
    return this.#live;
  }

  get liveIds(): string[] {
    return this.#live.map((r) => r.id);
  }

  /** Beat once (so the first share already counts the others), then every third of the TTL. */
  async start(): Promise<void> {
    if (this.#task) return;
    await this.beat().catch((error: unknown) => this.#o.log.warn({ event: "inbound_email_replica_heartbeat_failed", err: error }, "replica heartbeat failed; trying again"));
    this.#task = periodic("replica_heartbeat", Math.max(50, Math.floor(this.#o.ttlMs / 3)), this.#o.log, async () => void (await this.beat()));
  }

  async beat(): Promise<readonly Replica[]> {
    const reply = await this.#o.scripts.run(scripts.replicaHeartbeat, this.#keys, [this.id, this.#o.ttlMs, this.#o.capacity ?? "any"]);
    const live = parseLive(reply);
    if (!live.some((r) => r.id === this.id)) live.push({ id: this.id, capacity: this.#o.capacity });
    const before = this.liveIds.join(",");
    this.#live = live.sort((a, b) => (a.id < b.id ? -1 : 1));
    if (this.liveIds.join(",") !== before) {
      this.#o.log.info({ event: "inbound_email_replicas_changed", replicaId: this.id, live: this.#live.length }, "the set of live replicas changed");
      this.onChange?.();
    }
    return this.#live;
  }

  /** Stop beating and leave the live set (a clean stop). */
  async stop(): Promise<void> {
    await this.#task?.stop();
    this.#task = undefined;
    await this.#o.scripts.run(scripts.replicaLeave, this.#keys, [this.id]).catch(() => undefined);
  }
}

function parseLive(reply: ScriptReply): Replica[] {
  if (!Array.isArray(reply)) throw new Error("replica-heartbeat: unexpected reply");
  const out: Replica[] = [];
  for (let i = 1; i + 1 < reply.length; i += 2) {
    const capacity = Number(reply[i + 1]);
    out.push({ id: String(reply[i]), capacity: Number.isInteger(capacity) && capacity >= 0 ? capacity : undefined });
  }
  return out;
}
