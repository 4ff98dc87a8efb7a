import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export const GOOGLE_AUDIENCE = "https://inlet.test/webhooks/google";
export const GOOGLE_PUSH_ACCOUNT = "gmail-push@inlet-test.iam.gserviceaccount.com";

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: "../../wrangler.toml" },
      miniflare: {
        bindings: {
          UPSTASH_REDIS_REST_URL: inject("restUrl"),
          UPSTASH_REDIS_REST_TOKEN: inject("restToken"),
          INLET_ADMIN_TOKEN: "worker-test-admin-token",
          IMAP_WEBHOOK_SECRET: "worker-test-imap-secret",
          GOOGLE_JWKS_URL: inject("jwksUrl"),
          GOOGLE_PUBSUB_AUDIENCE: GOOGLE_AUDIENCE,
          GOOGLE_PUBSUB_SERVICE_ACCOUNTS: GOOGLE_PUSH_ACCOUNT,
          MICROSOFT_APP_ID: "",
          SIGNING_JWK: inject("signingJwk"),
          OTHER_SIGNING_JWK: inject("otherSigningJwk"),
        },
      },
    })),
  ],
  test: {
    name: "worker",
    include: ["**/*.test.ts"],
    globalSetup: ["./global-setup.ts"],
    testTimeout: 30_000,
  },
});
