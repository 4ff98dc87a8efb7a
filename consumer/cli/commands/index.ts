import type { Command } from "commander";

export function registerCommands(program: Command): void {
  void program;
}
