// Benchmark-only Worker entry (never deployed): the real app, plus bare routes that make the same
// single ingest call as the real ones with no verification and no schema: the body is parsed with
// JSON.parse and the same ingest items are built from it. Side by side in one build, one
// workerd, they show what verification, parsing and answering cost on top of the ingest call.
//   POST /bare/google     the Pub/Sub push body, no token checked
//   POST /bare/imap       the IMAP listener's body, no signature checked
//   POST /bare/microsoft  a changeNotificationCollection, no clientState hashing
import { Hono } from "hono";
import type { AppEnv } from "../../src/app-env.ts";
import { app } from "../../src/index.ts";
import { withConfig } from "../../src/middleware/config.ts";
import { queueFor } from "../../src/queue-for-env.ts";
import type { IngestItem } from "../../src/queue/queue.ts";

interface PushBody { message: { data: string; messageId: string } }
interface ImapBody { providerId: string; mailbox: string; uidValidity: string; uids: number[] }
interface GraphBody { value: { subscriptionId: string; clientState: string; resource: string; resourceData: { id: string } }[] }

const bare = new Hono<AppEnv>();
bare.use(withConfig);

bare.post("/google", async (c) => {
  const body = (await c.req.json()) as PushBody;
  const data = JSON.parse(atob(body.message.data)) as { emailAddress: string; historyId: string };
  const id = body.message.messageId;
  const result = await queueFor(c.var.config).ingest("google", [
    { registryField: `google:mailbox:${data.emailAddress}`, dedupeKey: `google:pubsub:${id}:${data.emailAddress}:${data.historyId}`, historyId: data.historyId, job: { provider: "google", tenantId: "-", providerId: "-", pointer: { emailAddress: data.emailAddress, historyId: data.historyId, pubsubMessageId: id } } },
  ]);
  return "replay" in result && result.replay ? c.body(null, 204) : c.json({ accepted: 1 }, 202);
});

bare.post("/imap", async (c) => {
  const body = (await c.req.json()) as ImapBody;
  const items: IngestItem[] = body.uids.map((uid) => ({ registryField: `imap:provider:${body.providerId}`, dedupeKey: `imap:${body.providerId}:${body.uidValidity}:${uid}`, job: { provider: "imap", tenantId: "-", providerId: "-", pointer: { mailbox: body.mailbox, uidValidity: body.uidValidity, uid } } }));
  await queueFor(c.var.config).ingest("imap", items, { requestGuard: `imap:signature:${c.req.header("x-inlet-signature") ?? ""}` });
  return c.json({ accepted: items.length }, 202);
});

bare.post("/microsoft", async (c) => {
  const body = (await c.req.json()) as GraphBody;
  const items: IngestItem[] = body.value.map((item) => ({
    registryField: `microsoft:subscription:${item.subscriptionId}`,
    secretHash: item.clientState,
    dedupeKey: `microsoft:${item.subscriptionId}:${item.resourceData.id}`,
    job: { provider: "microsoft", tenantId: "-", providerId: "-", pointer: { subscriptionId: item.subscriptionId, messageId: item.resourceData.id, resource: item.resource, changeType: "created" } },
  }));
  await queueFor(c.var.config).ingest("microsoft", items);
  return c.json({ accepted: items.length }, 202);
});

app.route("/bare", bare);

export default app;
