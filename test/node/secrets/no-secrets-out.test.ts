// No secret leaves through a log line or an error message: the logger censors fields named like
// secrets wherever a careless caller puts them, and the errors of refused grants carry the
// provider's code and description, never what was sent.
import { describe, expect, it, afterAll, beforeAll } from "vitest";
import { providerEndpoints } from "../../../consumer/config.ts";
import { InletError } from "../../../consumer/domain/errors.ts";
import { createProviderApis } from "../../../consumer/provider-api/apis.ts";
import { checkMailbox } from "../../../consumer/providers/check.ts";
import { startFakeGraph, type FakeGraph } from "../../../dev/fakes/graph.ts";
import { startFakeGmail, type FakeGmail } from "../../../dev/fakes/gmail.ts";
import { captureLogs } from "../../support/log-capture.ts";

let graph: FakeGraph;
let gmail: FakeGmail;
beforeAll(async () => {
  [graph, gmail] = await Promise.all([startFakeGraph(), startFakeGmail()]);
  graph.addApp({ azureTenantId: "contoso", clientId: "app", clientSecret: "the-right-secret" });
  gmail.addClient({ clientId: "gc", clientSecret: "google-client-secret-value" });
});
afterAll(async () => Promise.all([graph?.close(), gmail?.close()]));

describe("secrets stay in", () => {
  it("a log line censors credentials, passwords, tokens, keys and authorization headers, at any of the first three levels", () => {
    const logs = captureLogs();
    logs.log.warn({ event: "careless", credentials: { clientSecret: "s1" }, mailbox: { password: "s2", oauth: { refreshToken: "s3" } }, request: { headers: { authorization: "Bearer s4" } }, privateKey: "s5", access_token: "s6" }, "careless");
    const line = JSON.stringify(logs.lines());
    for (const secret of ["s1", "s2", "s3", "s4", "s5", "s6"]) expect(line).not.toContain(`"${secret}"`);
    expect(line).not.toContain("Bearer s4");
    expect(line).toContain("[secret]");
  });

  it("a refused grant's error and a failed check name the provider's code, not the secret sent", async () => {
    const apis = createProviderApis(providerEndpoints({ MICROSOFT_LOGIN_BASE_URL: graph.loginBaseUrl, MICROSOFT_GRAPH_BASE_URL: graph.graphBaseUrl, GOOGLE_OAUTH_TOKEN_URL: gmail.tokenUrl, GMAIL_API_BASE_URL: gmail.gmailBaseUrl }));
    const wrongSecret = "a-wrong-secret-Q8~zzzz";
    const microsoft = await checkMailbox(apis, { providerId: "m", tenantId: "t", kind: "microsoft", address: "a@contoso.example", credentials: { type: "microsoft", azureTenantId: "contoso", clientId: "app", clientSecret: wrongSecret }, cursors: {}, bulkMailOpensTickets: false });
    expect(microsoft.steps[0]).toMatchObject({ ok: false, code: "microsoft_auth_revoked", detail: expect.stringContaining("AADSTS7000215") });
    const refreshToken = "1//0a-revoked-refresh-token";
    const google = await checkMailbox(apis, { providerId: "g", tenantId: "t", kind: "google", address: "a@fabrikam.example", credentials: { type: "google", clientId: "gc", clientSecret: "google-client-secret-value", refreshToken }, cursors: {}, bulkMailOpensTickets: false });
    expect(google.steps[0]).toMatchObject({ ok: false, code: "google_auth_revoked", detail: expect.stringContaining("invalid_grant") });
    const text = JSON.stringify([microsoft, google]);
    for (const secret of [wrongSecret, refreshToken, "google-client-secret-value"]) expect(text).not.toContain(secret);
    let error: unknown;
    try {
      await apis.graph.token({ type: "microsoft", azureTenantId: "contoso", clientId: "app", clientSecret: wrongSecret });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InletError);
    expect(`${String(error)} ${JSON.stringify(error)}`).not.toContain(wrongSecret);
  });
});
