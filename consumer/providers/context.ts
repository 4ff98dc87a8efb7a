// What onboarding and upkeep need: the store, the queue (for the edge registry and resync
// pointers), the provider API clients, and where the edge listens.
import type { PointerQueue } from "../../src/queue/queue.ts";
import type { Mailboxes } from "../store/mailboxes.ts";
import type { ProviderApis } from "../provider-api/apis.ts";
import type { Logger } from "../runtime/log.ts";

export interface ProviderContext {
  mailboxes: Mailboxes;
  queue: PointerQueue;
  apis: ProviderApis;
  /** The Worker's public base URL (INGRESS_URL): Graph notification and lifecycle URLs hang off it. */
  ingressUrl: string | undefined;
  log?: Logger;
}
