// Global setup for the Node tests: checks that the real services answer and starts the
// Upstash-compatible REST bridge in front of the real Redis. Test files read its URL with
// `inject("restUrl")`.
import type { TestProject } from "vitest/node";
import { Redis } from "ioredis";
import { startRestBridge } from "../../dev/rest-bridge.ts";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const REST_TOKEN = "test-rest-token";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
    restUrl: string;
    restToken: string;
  }
}

export default async function setup(project: TestProject) {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis does not answer at ${REDIS_URL}: start it (see README, "Running the tests")`, { cause: error });
  } finally {
    redis.disconnect();
  }
  const bridge = await startRestBridge({ redisUrl: REDIS_URL, token: REST_TOKEN });
  project.provide("redisUrl", REDIS_URL);
  project.provide("restUrl", bridge.url);
  project.provide("restToken", REST_TOKEN);
  return async () => {
    await bridge.close();
  };
}
