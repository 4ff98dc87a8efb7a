import type { Command } from "commander";
import { registerDlq } from "./dlq.ts";
import { registerParse } from "./parse.ts";
import { registerQueue } from "./queue.ts";

export function registerCommands(program: Command): void {
  registerQueue(program);
  registerDlq(program);
  registerParse(program);
}
