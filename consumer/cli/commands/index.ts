import type { Command } from "commander";
import { registerDlq } from "./dlq.ts";
import { registerQueue } from "./queue.ts";

export function registerCommands(program: Command): void {
  registerQueue(program);
  registerDlq(program);
}
