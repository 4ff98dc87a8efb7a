// Delivery settings for tests: loopback receivers allowed, short polls and backoffs.
import { deliveryConfig, type DeliveryConfig } from "../../consumer/config.ts";

export const TEST_DELIVERY_ENV = {
  INLET_ALLOW_INSECURE_WEBHOOKS: "1",
  INLET_WEBHOOK_POLL_MS: "50",
  INLET_WEBHOOK_BACKOFF_BASE_MS: "40",
  INLET_WEBHOOK_BACKOFF_MAX_MS: "400",
  INLET_WEBHOOK_TIMEOUT_MS: "1000",
  INLET_WEBHOOK_LEASE_MS: "3000",
} as const;

export function testDeliveryConfig(overrides: Record<string, string> = {}): DeliveryConfig {
  return deliveryConfig({ ...TEST_DELIVERY_ENV, ...overrides });
}

/** A raw message with extra header lines in front (Auto-Submitted, Precedence…). */
export function withHeaders(raw: Uint8Array, ...lines: string[]): Uint8Array {
  return new Uint8Array(Buffer.concat([Buffer.from(lines.map((l) => `${l}\r\n`).join("")), Buffer.from(raw)]));
}
