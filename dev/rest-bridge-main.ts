// `npm run rest`: the Upstash-compatible REST endpoint on its own.
//   REDIS_URL (default redis://127.0.0.1:6379), INLET_REST_TOKEN (required), INLET_REST_PORT (default 8079; 0 = any free port)
// Prints one line, `listening <url>`, once it accepts requests.
import { startRestBridge } from "./rest-bridge.ts";

const token = process.env.INLET_REST_TOKEN ?? process.env.UPSTASH_REDIS_REST_TOKEN;
if (!token) {
  console.error("set INLET_REST_TOKEN to the bearer token clients must send");
  process.exit(2);
}
const bridge = await startRestBridge({ redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379", token, port: Number(process.env.INLET_REST_PORT ?? 8079) });
console.log(`listening ${bridge.url}`);
const stop = () => void bridge.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
