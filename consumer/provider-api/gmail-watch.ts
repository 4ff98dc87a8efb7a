// Gmail push: `users.watch` on INBOX (renew at least every 7 days; daily is recommended) and
// `users.stop`.
import { z } from "zod";
import { permanent } from "../domain/errors.ts";
import type { GoogleCredentials } from "../domain/mailbox.ts";
import { discard, readJson } from "./http.ts";
import type { GmailClient } from "./gmail-client.ts";

const watchSchema = z.object({ historyId: z.string().regex(/^\d+$/), expiration: z.string().regex(/^\d+$/) });
export type GmailWatch = z.infer<typeof watchSchema>;

export async function watchInbox(gmail: GmailClient, credentials: GoogleCredentials, emailAddress: string, topicName: string): Promise<GmailWatch> {
  const call = await gmail.send(credentials, { method: "POST", user: emailAddress, path: "/watch", what: "gmail_watch", body: { topicName, labelIds: ["INBOX"], labelFilterBehavior: "INCLUDE" } });
  if (call.status === 404) {
    await discard(call);
    throw permanent("google_mailbox_not_found", `Gmail has no mailbox ${emailAddress}`);
  }
  return readJson(call, watchSchema);
}

export async function stopWatch(gmail: GmailClient, credentials: GoogleCredentials, emailAddress: string): Promise<void> {
  await discard(await gmail.send(credentials, { method: "POST", user: emailAddress, path: "/stop", what: "gmail_stop", body: {} }));
}
