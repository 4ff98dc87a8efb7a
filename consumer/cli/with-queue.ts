import type { PointerQueue } from "../../src/queue/queue.ts";
import { queueConnectionConfig } from "../config.ts";
import { connectQueue } from "../runtime/queue-connection.ts";
import { CliError } from "./output.ts";

/** Connect to the queue from the environment, run `body`, close; an unreachable Redis is a clear error. */
export async function withQueue<T>(body: (queue: PointerQueue) => Promise<T>): Promise<T> {
  const connection = connectQueue(queueConnectionConfig(process.env), { failFast: true });
  try {
    return await body(connection.queue);
  } catch (error) {
    const text = error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause ?? "")}` : String(error);
    if (/ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|Connection is closed|fetch failed|connect/i.test(text)) {
      throw new CliError(`cannot reach the queue's Redis at ${connection.target} (${connection.transport}): is it running? Set REDIS_URL or UPSTASH_REDIS_REST_URL/UPSTASH_REDIS_REST_TOKEN.`);
    }
    throw error;
  } finally {
    connection.close();
  }
}
