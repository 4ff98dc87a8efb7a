#!/usr/bin/env node
// The `inlet` command line. Each command lives in its own module under ./commands and
// registers itself on the program.
import { Command } from "commander";
import { registerCommands } from "./commands/index.ts";

const program = new Command("inlet")
  .description("Inlet: email from Microsoft 365, Gmail and IMAP into helpdesk tickets")
  .showHelpAfterError()
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

registerCommands(program);
await program.parseAsync(process.argv);
