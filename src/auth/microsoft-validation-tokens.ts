// Rich Graph notifications carry `validationTokens`: JWTs from Microsoft identity, issuer
// https://sts.windows.net/{tenantId}/, audience = our app id, azp/appid = Graph's change-tracking
// app. Inlet subscribes without resource data (clientState is the check) but verifies these when
// they are present.
import { jwtVerify } from "jose";
import { remoteKeys } from "./remote-keys.ts";

const GRAPH_NOTIFICATION_APP = "0bf30f3b-4a52-48df-9a82-234910c4a086";

export async function verifyValidationTokens(tokens: readonly string[], config: { jwksUrl: string; appId: string; tenantIds: readonly string[] }): Promise<boolean> {
  const keys = remoteKeys(config.jwksUrl);
  const issuers = config.tenantIds.map((t) => `https://sts.windows.net/${t}/`);
  try {
    for (const token of tokens) {
      const { payload } = await jwtVerify(token, keys.getKey, { algorithms: ["RS256"], audience: config.appId, issuer: issuers, clockTolerance: 60 });
      if (payload.azp !== GRAPH_NOTIFICATION_APP && payload.appid !== GRAPH_NOTIFICATION_APP) return false;
    }
    return true;
  } catch {
    return false;
  }
}
