// The events Inlet announces, and which an endpoint gets when it names none.
import { z } from "zod";

export const EVENT_TYPES = ["ticket.created", "ticket.replied", "ticket.noted", "message.skipped"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** An endpoint that names no events gets these (message.skipped only when asked for). */
export const DEFAULT_EVENT_TYPES: readonly EventType[] = ["ticket.created", "ticket.replied", "ticket.noted"];

export const eventTypeSchema = z.enum(EVENT_TYPES);

/** `ticket.created,ticket.replied` → the list, refusing a name that is not an event. */
export function parseEventTypes(value: string): EventType[] {
  const names = value.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(EVENT_TYPES as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) throw new Error(`events must be a comma-separated list of ${EVENT_TYPES.join(", ")}${unknown.length ? ` (not ${unknown.join(", ")})` : ""}`);
  return [...new Set(names)] as EventType[];
}
