// What onboarding and upkeep need: the store, the queue (for the edge registry and resync
// pointers), provider endpoints, a token cache, and where the edge listens.
import type { PointerQueue } from "../../src/queue/queue.ts";
import type { Mailboxes } from "../store/mailboxes.ts";
import type { ProviderEndpoints } from "../resolvers/index.ts";
import type { TokenCache } from "../resolvers/token-cache.ts";
import type { Logger } from "../runtime/log.ts";

export interface ProviderContext {
  mailboxes: Mailboxes;
  queue: PointerQueue;
  endpoints: ProviderEndpoints;
  tokens: TokenCache;
  /** The Worker's public base URL (INGRESS_URL): Graph notification and lifecycle URLs hang off it. */
  ingressUrl: string | undefined;
  log?: Logger;
}
