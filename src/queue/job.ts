// The job schema: a pointer to a message, never the message. Everything that enters or leaves
// the queue goes through these schemas; unknown fields are refused, so a payload carrying
// email content (subject, body, raw MIME) cannot be enqueued by mistake.
//
// The pointer schemas are also what the edge's routes check a notification item against before
// it reaches Redis: one definition of what a pointer may hold, so an item the queue would refuse
// is dropped (and counted) by the route instead of failing the whole request.
//
// Built on zod's tree-shakable build (`zod/mini`): this module is part of the Worker's bundle.
import * as z from "zod/mini";

export const JOB_SCHEMA_VERSION = 1;

/** A string holding a lone UTF-16 surrogate cannot be encoded as UTF-8 or decoded by Redis's
 * cjson (`"\ud800"` fails with "invalid unicode escape code"), so no id may hold one. */
const SURROGATE = /[\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
export function isWellFormed(text: string): boolean {
  return !SURROGATE.test(text) || !LONE_SURROGATE.test(text);
}

const wellFormed = z.refine<string>(isWellFormed, { message: "holds a lone UTF-16 surrogate" });

/** An opaque id: 1..max UTF-16 code units of well-formed text. */
export const opaqueId = (max: number) => z.string().check(z.minLength(1), z.maxLength(max), wellFormed);

/** The largest values the providers define: Gmail history ids are unsigned 64-bit, IMAP
 * UIDVALIDITY is a non-zero unsigned 32-bit number (RFC 3501 nz-number). */
export const MAX_HISTORY_ID = 18_446_744_073_709_551_615n;
export const MAX_UID_VALIDITY = 4_294_967_295n;

/** A positive decimal id of at most `max`, given as digits (leading zeros allowed on input) or
 * as a safe JSON integer; the output is the canonical decimal string (no leading zeros), so two
 * spellings of one id compare and deduplicate as one. */
export const decimalId = (max: bigint) =>
  z.pipe(
    z.union([z.string().check(z.regex(/^\d{1,40}$/)), z.number().check(z.int(), z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER))]),
    z.pipe(
      z.transform((value: string | number) => String(typeof value === "number" ? value : BigInt(value))),
      z.string().check(z.refine((text) => text !== "0" && BigInt(text) <= max, { message: `must be between 1 and ${max}` })),
    ),
  );

export const microsoftPointerSchema = z.strictObject({
  subscriptionId: opaqueId(128),
  messageId: opaqueId(512),
  resource: opaqueId(1024),
  changeType: z.literal("created"),
});

export const googlePointerSchema = z.strictObject({
  emailAddress: z.string().check(z.minLength(3), z.maxLength(320), z.includes("@"), wellFormed, z.toLowerCase()),
  historyId: decimalId(MAX_HISTORY_ID),
  pubsubMessageId: opaqueId(128),
});

export const imapPointerSchema = z.strictObject({
  mailbox: opaqueId(320),
  uidValidity: decimalId(MAX_UID_VALIDITY),
  uid: z.number().check(z.int(), z.minimum(1), z.maximum(2 ** 32 - 1)),
});

export const LIFECYCLE_EVENTS = ["reauthorizationRequired", "subscriptionRemoved", "missed"] as const;

/** A Graph lifecycle notification, acted on by the consumer (renew, recreate, resync). */
export const lifecyclePointerSchema = z.strictObject({
  subscriptionId: opaqueId(128),
  lifecycleEvent: z.enum(LIFECYCLE_EVENTS),
});

const base = {
  jobId: opaqueId(64),
  schemaVersion: z.literal(JOB_SCHEMA_VERSION),
  tenantId: opaqueId(128),
  providerId: opaqueId(128),
  enqueuedAt: z.number().check(z.int(), z.nonnegative()),
  attempt: z.number().check(z.int(), z.nonnegative()),
  lastError: z.optional(z.string().check(z.maxLength(1024))),
  /** Set by the reconciliation sweep on the pointers it enqueues (absent: a notification's). */
  origin: z.optional(z.literal("sweep")),
};

const microsoftMessageJob = z.strictObject({ ...base, provider: z.literal("microsoft"), kind: z.optional(z.literal("message")), pointer: microsoftPointerSchema });
const microsoftLifecycleJob = z.strictObject({ ...base, provider: z.literal("microsoft"), kind: z.literal("lifecycle"), pointer: lifecyclePointerSchema });
const googleJob = z.strictObject({ ...base, provider: z.literal("google"), kind: z.optional(z.literal("message")), pointer: googlePointerSchema });
const imapJob = z.strictObject({ ...base, provider: z.literal("imap"), kind: z.optional(z.literal("message")), pointer: imapPointerSchema });

export const jobSchema = z.union([microsoftMessageJob, microsoftLifecycleJob, googleJob, imapJob]);

export type Job = z.output<typeof jobSchema>;
export type Provider = Job["provider"];
export type MicrosoftPointer = z.output<typeof microsoftPointerSchema>;
export type GooglePointer = z.output<typeof googlePointerSchema>;
export type ImapPointer = z.output<typeof imapPointerSchema>;
export type LifecyclePointer = z.output<typeof lifecyclePointerSchema>;

/** A job as the producer describes it; the queue fills in the bookkeeping fields. */
export type NewJob = Omit<Job, "jobId" | "schemaVersion" | "enqueuedAt" | "attempt" | "lastError"> & {
  jobId?: string;
};

/** The one schema a value can match, picked by provider and kind: parsing against a union
 * would try (and build errors for) every other shape first, on the queue's hot path. */
function schemaFor(value: unknown) {
  if (typeof value !== "object" || value === null) return jobSchema;
  const { provider, kind } = value as { provider?: unknown; kind?: unknown };
  if (provider === "imap") return imapJob;
  if (provider === "google") return googleJob;
  if (provider === "microsoft") return kind === "lifecycle" ? microsoftLifecycleJob : microsoftMessageJob;
  return jobSchema;
}

export function parseJob(value: unknown): { ok: true; job: Job } | { ok: false; reason: string } {
  const result = schemaFor(value).safeParse(value);
  if (result.success) return { ok: true, job: result.data };
  const issue = result.error.issues[0];
  const where = issue?.path.length ? issue.path.join(".") : "job";
  return { ok: false, reason: `invalid_job:${where}:${issue?.code ?? "invalid"}` };
}
