// Endpoint secrets at rest: plain without a key ring, sealed under its first key with one, sealed
// again under a new first key by `inlet secrets rotate` (resealEndpointSecrets), the secret that
// signs unchanged throughout.
import { afterEach, expect, it } from "vitest";
import { addEndpoint, resealEndpointSecrets, rotateSecret, signingEndpoint } from "../../../consumer/delivery/endpoints.ts";
import { addTenant } from "../../../consumer/store/tenants.ts";
import { testDatabase, type TestDatabase } from "../../support/database.ts";
import { keyEntry, keyRing } from "../../support/secrets.ts";

let t: TestDatabase;
afterEach(async () => t.drop());
const policy = { allowInsecureLoopback: false, allowPrivateAddresses: false };
const keys = async () => t.db.query<{ secret: string; secret_key_id: string | null; previous_secret_key_id: string | null }>("SELECT secret, secret_key_id, previous_secret_key_id FROM webhook_endpoints");

it("a plain secret is sealed by the rotation of the key ring, and sealed again under a newer key, signing the same", async () => {
  t = await testDatabase("postgres");
  await addTenant(t.db, "acme");
  const { endpoint, secret } = await addEndpoint(t.db, undefined, policy, { tenantId: "acme", url: "https://hooks.example.com/inlet" });
  expect((await keys())[0]).toMatchObject({ secret, secret_key_id: null });
  const k1 = keyEntry("k1");
  const ring1 = keyRing(k1);
  expect(await t.db.transaction((tx) => resealEndpointSecrets(tx, ring1))).toBe(1);
  expect((await keys())[0]).toMatchObject({ secret: expect.stringMatching(/^inlet:v1:k1:/), secret_key_id: "k1" });
  const { secret: next } = await rotateSecret(t.db, ring1, endpoint.id);
  const ring2 = keyRing(keyEntry("k2"), k1);
  expect(await t.db.transaction((tx) => resealEndpointSecrets(tx, ring2))).toBe(1);
  expect((await keys())[0]).toMatchObject({ secret_key_id: "k2", previous_secret_key_id: "k2" });
  // k1 may leave the ring: k2 alone opens both secrets.
  expect((await signingEndpoint(t.db, keyRing(`k2:${ring2.primary.key.toString("base64")}`), endpoint.id))?.secrets).toEqual([next, secret]);
  expect(await t.db.transaction((tx) => resealEndpointSecrets(tx, ring2))).toBe(0);
});
