// The job schema: a pointer to a message, never the message. Everything that enters or leaves
// the queue goes through these schemas; unknown fields are refused, so a payload carrying
// email content (subject, body, raw MIME) cannot be enqueued by mistake.
import { z } from "zod";

export const JOB_SCHEMA_VERSION = 1;

const id = (max: number) => z.string().min(1).max(max);

export const microsoftPointerSchema = z.strictObject({
  subscriptionId: id(128),
  messageId: id(512),
  resource: id(1024),
  changeType: z.literal("created"),
});

export const googlePointerSchema = z.strictObject({
  emailAddress: z.string().min(3).max(320).includes("@"),
  historyId: z.string().regex(/^\d{1,20}$/),
  pubsubMessageId: id(128),
});

export const imapPointerSchema = z.strictObject({
  mailbox: id(320),
  uidValidity: z.string().regex(/^\d{1,20}$/),
  uid: z.number().int().positive().max(2 ** 32 - 1),
});

/** A Graph lifecycle notification, acted on by the consumer (renew, recreate, resync). */
export const lifecyclePointerSchema = z.strictObject({
  subscriptionId: id(128),
  lifecycleEvent: z.enum(["reauthorizationRequired", "subscriptionRemoved", "missed"]),
});

const base = {
  jobId: id(64),
  schemaVersion: z.literal(JOB_SCHEMA_VERSION),
  tenantId: id(128),
  providerId: id(128),
  enqueuedAt: z.number().int().nonnegative(),
  attempt: z.number().int().nonnegative(),
  lastError: z.string().max(1024).optional(),
  /** Set by the reconciliation sweep on the pointers it enqueues (absent: a notification's). */
  origin: z.literal("sweep").optional(),
};

const microsoftMessageJob = z.strictObject({ ...base, provider: z.literal("microsoft"), kind: z.literal("message").optional(), pointer: microsoftPointerSchema });
const microsoftLifecycleJob = z.strictObject({ ...base, provider: z.literal("microsoft"), kind: z.literal("lifecycle"), pointer: lifecyclePointerSchema });
const googleJob = z.strictObject({ ...base, provider: z.literal("google"), kind: z.literal("message").optional(), pointer: googlePointerSchema });
const imapJob = z.strictObject({ ...base, provider: z.literal("imap"), kind: z.literal("message").optional(), pointer: imapPointerSchema });

export const jobSchema = z.union([microsoftMessageJob, microsoftLifecycleJob, googleJob, imapJob]);

export type Job = z.infer<typeof jobSchema>;
export type Provider = Job["provider"];
export type MicrosoftPointer = z.infer<typeof microsoftPointerSchema>;
export type GooglePointer = z.infer<typeof googlePointerSchema>;
export type ImapPointer = z.infer<typeof imapPointerSchema>;
export type LifecyclePointer = z.infer<typeof lifecyclePointerSchema>;

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
