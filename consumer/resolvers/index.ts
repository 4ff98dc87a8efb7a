// One resolver per provider, on the process's shared provider API clients.
import type { Logger } from "../runtime/log.ts";
import type { ProviderApis } from "../provider-api/apis.ts";
import type { Resolvers } from "./resolver.ts";
import { createGoogleResolver } from "./google.ts";
import { createImapResolver } from "./imap.ts";
import { createMicrosoftResolver } from "./microsoft.ts";

export interface ResolverOptions {
  /** Larger messages are not downloaded whole: processing records them as too large. */
  maxMessageBytes: number;
  /** For the few events a resolver reports itself (Gmail resyncs, a message passed over). */
  log?: Logger;
  /** Where the Gmail resolver confirms its cursor (the queue, for the edge's staleness filter). */
  confirmGmailCursor?: (emailAddress: string, historyId: string) => Promise<unknown>;
}

export function createResolvers(apis: ProviderApis, options: ResolverOptions): Resolvers {
  const { maxMessageBytes } = options;
  return {
    microsoft: createMicrosoftResolver({ graph: apis.graph, maxMessageBytes }),
    google: createGoogleResolver({ gmail: apis.gmail, maxMessageBytes, ...(options.log ? { log: options.log } : {}), ...(options.confirmGmailCursor ? { confirmCursor: options.confirmGmailCursor } : {}) }),
    imap: createImapResolver({ timeoutMs: apis.timeoutMs, maxMessageBytes, tokens: apis.imapTokens }),
  };
}
