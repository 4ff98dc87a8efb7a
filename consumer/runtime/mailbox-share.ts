// Which replica does what for a mailbox, computed alike by every replica from the same inputs
// (the mailbox ids and the live replicas of the heartbeat), so they agree without talking.
//
// - `rendezvousOwner`: highest random weight (rendezvous) hashing. Each mailbox goes to the
//   replica whose hash with it is highest; a replica joining or leaving moves only the mailboxes
//   it wins or held. The sweep and the provider upkeep use it (a share within a few percent is
//   enough for them).
// - `assignMailboxes`: the same ranking with a bound on each replica's load (the IMAP listener's
//   share): every replica holds at most `shareBound` mailboxes, ceil(total ÷ live) unless some
//   replica's cap (INLET_IMAP_MAX_MAILBOXES) is lower, in which case the others make up the rest.
//   Mailboxes are placed in a fixed order, each with the best-ranked replica that still has
//   room, so the result is exact, deterministic and moves few mailboxes when the set changes.
import { createHash } from "node:crypto";

export interface Replica {
  id: string;
  /** The most IMAP mailboxes it takes; undefined: no cap. */
  capacity: number | undefined;
}

function weight(item: string, replica: string): number {
  return createHash("sha1").update(item).update("\u0000").update(replica).digest().readUInt32BE(0);
}

export function rendezvousOwner(item: string, replicaIds: readonly string[]): string | undefined {
  let best: { id: string; w: number } | undefined;
  for (const id of replicaIds) {
    const w = weight(item, id);
    if (!best || w > best.w || (w === best.w && id < best.id)) best = { id, w };
  }
  return best?.id;
}

/** The most mailboxes one replica takes when `total` are shared by replicas of these capacities:
 * the lowest level L with Σ min(capacity, L) ≥ total (ceil(total ÷ live) when no cap binds), and
 * each replica's bound is min(its capacity, L). When the caps add up to less than total, every
 * replica is bounded by its cap and the rest stay unassigned. */
export function shareBound(total: number, replicas: readonly Replica[]): Map<string, number> {
  const bounds = new Map<string, number>();
  if (replicas.length === 0) return bounds;
  const cap = (r: Replica) => r.capacity ?? Infinity;
  const fits = (level: number) => replicas.reduce((sum, r) => sum + Math.min(cap(r), level), 0) >= total;
  let level = Math.ceil(total / replicas.length);
  if (!fits(total)) level = total;
  else while (!fits(level)) level++;
  for (const r of replicas) bounds.set(r.id, Math.min(cap(r), level));
  return bounds;
}

/** mailbox id → the replica that should watch it (mailboxes no replica has room for are left out). */
export function assignMailboxes(mailboxIds: readonly string[], replicas: readonly Replica[]): Map<string, string> {
  const ids = [...new Set(mailboxIds)].sort();
  const room = shareBound(ids.length, replicas);
  const replicaIds = replicas.map((r) => r.id);
  const assignment = new Map<string, string>();
  // Place first the mailboxes whose favourite is clearest, so the bound bends as few as possible.
  const order = ids
    .map((id) => {
      const ranked = replicaIds.map((r) => ({ r, w: weight(id, r) })).sort((a, b) => b.w - a.w || (a.r < b.r ? -1 : 1));
      return { id, ranked: ranked.map((x) => x.r), margin: ranked.length > 1 ? ranked[0]!.w - ranked[1]!.w : 0 };
    })
    .sort((a, b) => b.margin - a.margin || (a.id < b.id ? -1 : 1));
  for (const { id, ranked } of order) {
    const to = ranked.find((r) => (room.get(r) ?? 0) > 0);
    if (to === undefined) continue;
    room.set(to, room.get(to)! - 1);
    assignment.set(id, to);
  }
  return assignment;
}
