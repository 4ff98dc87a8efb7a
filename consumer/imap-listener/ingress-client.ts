// Posts new UIDs to the edge ingress, signed as the edge checks (src/auth/imap-signature.ts):
//   X-Inlet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with IMAP_WEBHOOK_SECRET>
// Body: {providerId, mailbox, uidValidity, uids}. A 2xx means the pointers are stored; anything
// else is an error the watcher retries (the cursor only moves after a 2xx).
import { createHmac } from "node:crypto";

export interface ImapNotification {
  providerId: string;
  mailbox: string;
  uidValidity: string;
  uids: number[];
}

export function signImapBody(secret: string, body: string, nowSeconds: number = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac("sha256", secret).update(`${nowSeconds}.${body}`).digest("hex");
  return `t=${nowSeconds},v1=${mac}`;
}

export class IngressError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.status = status;
  }
}

export async function postImapNotification(ingressUrl: string, secret: string, notification: ImapNotification, timeoutMs = 10_000): Promise<void> {
  const body = JSON.stringify(notification);
  let response: Response;
  try {
    response = await fetch(new URL("/webhooks/imap", ingressUrl), {
      method: "POST",
      headers: { "content-type": "application/json", "x-inlet-signature": signImapBody(secret, body) },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new IngressError(`ingress unreachable: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!response.ok) {
    const text = await response.text().catch(() => "");
    throw new IngressError(`ingress answered ${response.status}: ${text.slice(0, 200)}`, response.status);
  }
}
