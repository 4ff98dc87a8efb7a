// One queue per isolate and configuration, over the fetch-only REST client (queue/rest-script-client.ts).
import type { EdgeConfig } from "./env.ts";
import { refuse } from "./http-error.ts";
import { PointerQueue } from "./queue/queue.ts";
import { RestScriptClient } from "./queue/rest-script-client.ts";

const clients = new Map<string, RestScriptClient>();
const queues = new WeakMap<EdgeConfig, PointerQueue>();

/** The queue of this configuration; 503 store_not_configured when the REST endpoint is not set. */
export function queueFor(config: EdgeConfig): PointerQueue {
  let queue = queues.get(config);
  if (queue) return queue;
  const store = config.store;
  if (!store) refuse(503, "store_not_configured", "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN must be set");
  const key = `${store.url} ${store.token}`;
  let client = clients.get(key);
  if (!client) {
    client = new RestScriptClient({ url: store.url, token: store.token, retries: 1 });
    clients.set(key, client);
  }
  queue = new PointerQueue(client, config.queue);
  queues.set(config, queue);
  return queue;
}
