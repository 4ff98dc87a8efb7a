// Gmail push: `users.watch` on INBOX (renew at least every 7 days; daily is recommended) and
// `users.stop`. Facts: ../../../shared/notes/protocols.md, "Gmail push through Cloud Pub/Sub".
import { z } from "zod";

const watchSchema = z.object({ historyId: z.string().regex(/^\d+$/), expiration: z.string().regex(/^\d+$/) });
export type GmailWatch = z.infer<typeof watchSchema>;

export interface GmailCall {
  gmailBaseUrl: string;
  accessToken: string;
  timeoutMs?: number;
}

export class GmailApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function gmail(call: GmailCall, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${call.gmailBaseUrl.replace(/\/$/, "")}/gmail/v1${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${call.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(call.timeoutMs ?? 15_000),
  });
  const text = await response.text();
  if (!response.ok) throw new GmailApiError(response.status, `Gmail POST ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

export async function watchInbox(call: GmailCall, emailAddress: string, topicName: string): Promise<GmailWatch> {
  const result = await gmail(call, `/users/${encodeURIComponent(emailAddress)}/watch`, { topicName, labelIds: ["INBOX"], labelFilterBehavior: "INCLUDE" });
  return watchSchema.parse(result);
}

export async function stopWatch(call: GmailCall, emailAddress: string): Promise<void> {
  await gmail(call, `/users/${encodeURIComponent(emailAddress)}/stop`, {});
}
