// The benchmark's webhook receiver, in a process of its own so that its work (verifying each
// request with standardwebhooks) is not counted as Inlet's: prints `{"url":…}` once listening,
// then `{"messageId":…,"at":<ms since epoch, fractional>}` for each event it applied.
// WEBHOOK_SECRET: the secret to verify with (can be set later by a line `secret <whsec_…>` on stdin).
import { createInterface } from "node:readline";
import { startWebhookReceiver } from "../../test/support/webhook-receiver.ts";

const receiver = await startWebhookReceiver({ secrets: process.env.WEBHOOK_SECRET ? [process.env.WEBHOOK_SECRET] : [] });
const now = () => performance.timeOrigin + performance.now();
let reported = 0;
const report = () => {
  for (; reported < receiver.received.length; reported++) {
    const r = receiver.received[reported]!;
    if (r.answered !== "ok") continue;
    const message = (r.payload.data as { message?: { messageId?: string } }).message;
    process.stdout.write(`${JSON.stringify({ messageId: message?.messageId, at: r.receivedAt })}\n`);
  }
};
// receivedAt is Date.now(); a sub-millisecond stamp is taken here instead, per request.
const original = receiver.received.push.bind(receiver.received);
receiver.received.push = (...items) => {
  for (const item of items) item.receivedAt = now();
  const n = original(...items);
  queueMicrotask(report);
  return n;
};
createInterface({ input: process.stdin }).on("line", (line) => {
  const [command, value] = line.split(" ");
  if (command === "secret" && value) receiver.secrets = [value];
});
process.stdout.write(`${JSON.stringify({ url: receiver.url })}\n`);
process.on("SIGTERM", () => void receiver.close().then(() => process.exit(0)));
