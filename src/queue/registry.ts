// The provider registry the edge checks notifications against: one Redis hash (keys.registry),
// written by the consumer's admin CLI when a mailbox is connected, removed when it is removed.
//
//   field                                   value (JSON)
//   microsoft:subscription:<subscriptionId>  {tenantId, providerId, secretHash: sha256hex(clientState)}
//   google:mailbox:<lowercased address>      {tenantId, providerId}
//   imap:provider:<providerId>               {tenantId, providerId}
//
// Only a hash of the Graph clientState is stored: the edge hashes what it receives and the
// ingest script compares hashes, so no secret sits in Redis and the comparison leaks nothing
// useful about the secret.

export interface RegistryEntry {
  tenantId: string;
  providerId: string;
  secretHash?: string;
}

export const registryField = {
  microsoftSubscription: (subscriptionId: string) => `microsoft:subscription:${subscriptionId}`,
  googleMailbox: (emailAddress: string) => `google:mailbox:${emailAddress.toLowerCase()}`,
  imapProvider: (providerId: string) => `imap:provider:${providerId}`,
};

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let hex = "";
  for (const b of digest) hex += HEX[b];
  return hex;
}

export function registryValue(entry: RegistryEntry): string {
  return JSON.stringify(entry);
}
