import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../consumer/runtime/log.ts";

/** A real pino logger writing JSON lines into memory, so tests can assert on events. */
export function captureLogs(): { log: Logger; lines: () => Record<string, unknown>[]; events: (name: string) => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const log = createLogger({ level: "debug", destination });
  const lines = () =>
    chunks
      .join("")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, events: (name) => lines().filter((l) => l.event === name) };
}
