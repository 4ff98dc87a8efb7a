// The share computation every replica runs alike: bounded rendezvous for the IMAP listener (each
// replica at most ceil(total ÷ live), caps made up by the others, few mailboxes moved when a
// replica joins or leaves) and plain rendezvous for the sweep and the upkeep.
import { describe, expect, it } from "vitest";
import { assignMailboxes, rendezvousOwner, shareBound, type Replica } from "../../../consumer/runtime/mailbox-share.ts";

const ids = (n: number) => Array.from({ length: n }, (_, i) => `imap-${i.toString(36)}-${(i * 7919).toString(16)}`);
const replicas = (...names: string[]): Replica[] => names.map((id) => ({ id, capacity: undefined }));
const counts = (assignment: Map<string, string>) => {
  const out: Record<string, number> = {};
  for (const to of assignment.values()) out[to] = (out[to] ?? 0) + 1;
  return out;
};
const moved = (a: Map<string, string>, b: Map<string, string>) => [...a.keys()].filter((id) => a.get(id) !== b.get(id)).length;

describe("the mailbox share", () => {
  it("the bound is ceil(total ÷ live); a replica's cap lowers its own and the others make up the rest; caps short of the total leave the rest unassigned", () => {
    expect(Object.fromEntries(shareBound(1500, replicas("a", "b", "c")))).toEqual({ a: 500, b: 500, c: 500 });
    expect(Object.fromEntries(shareBound(1501, replicas("a", "b", "c")))).toEqual({ a: 501, b: 501, c: 501 });
    expect(Object.fromEntries(shareBound(1500, [{ id: "a", capacity: 100 }, ...replicas("b", "c")]))).toEqual({ a: 100, b: 700, c: 700 });
    expect(Object.fromEntries(shareBound(10, [{ id: "a", capacity: 2 }, { id: "b", capacity: 3 }]))).toEqual({ a: 2, b: 3 });
  });

  it("every mailbox goes to exactly one replica, each holds its share exactly, and every replica computes the same from the list in any order", () => {
    const all = ids(1500);
    const three = assignMailboxes(all, replicas("a", "b", "c"));
    expect(three.size).toBe(1500);
    expect(counts(three)).toEqual({ a: 500, b: 500, c: 500 });
    expect(assignMailboxes([...all].reverse(), replicas("c", "a", "b"))).toEqual(three);
    expect(counts(assignMailboxes(all, replicas("a", "b", "c", "d")))).toEqual({ a: 375, b: 375, c: 375, d: 375 });
    expect(counts(assignMailboxes(ids(12), replicas("a", "b", "c")))).toEqual({ a: 4, b: 4, c: 4 });
    const capped = assignMailboxes(all, [{ id: "a", capacity: 100 }, ...replicas("b", "c")]);
    expect(counts(capped)).toEqual({ a: 100, b: 700, c: 700 });
    const short = assignMailboxes(ids(10), [{ id: "a", capacity: 2 }, { id: "b", capacity: 3 }]);
    expect(short.size).toBe(5);
    // A replica whose IMAP listener is off announces room for none: the others share everything.
    expect(counts(assignMailboxes(ids(12), [{ id: "a", capacity: 0 }, ...replicas("b", "c")]))).toEqual({ b: 6, c: 6 });
  });

  it("a replica joining moves little more than its own share; one leaving moves little more than what it held", () => {
    const all = ids(1500);
    const three = assignMailboxes(all, replicas("a", "b", "c"));
    const four = assignMailboxes(all, replicas("a", "b", "c", "d"));
    expect(moved(three, four)).toBeGreaterThanOrEqual(375);
    expect(moved(three, four)).toBeLessThanOrEqual(375 * 1.15);
    const two = assignMailboxes(all, replicas("a", "b"));
    expect(moved(three, two)).toBeGreaterThanOrEqual(500);
    expect(moved(three, two)).toBeLessThanOrEqual(500 * 1.15);
  });

  it("rendezvous (sweep, upkeep): about a third each of 1,500 over three replicas, and a replica leaving moves only its own", () => {
    const all = ids(1500);
    const owners = new Map(all.map((id) => [id, rendezvousOwner(id, ["a", "b", "c"])!]));
    for (const n of Object.values(counts(owners))) expect(Math.abs(n - 500)).toBeLessThanOrEqual(75);
    for (const id of all) {
      const after = rendezvousOwner(id, ["a", "c"]);
      if (owners.get(id) !== "b") expect(after).toBe(owners.get(id));
    }
    expect(rendezvousOwner("x", [])).toBeUndefined();
  });
});
