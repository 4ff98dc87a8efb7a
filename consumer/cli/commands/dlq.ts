import type { Command } from "commander";
import { findDeadLetter, listDeadLetters, purgeDeadLetters, requeueDeadLetters, summarise } from "../../operations/dead-letters.ts";
import { CliError, printJson, printTable, run } from "../output.ts";
import { withQueue } from "../with-queue.ts";
import { positiveWholeNumber } from "../arguments.ts";

/** `ID` or `--all`, exactly one of them. */
function target(id: string | undefined, all: boolean | undefined, verb: string): string {
  if (id && all) throw new CliError(`dlq ${verb}: give an ID or --all, not both`, 2);
  if (!id && !all) throw new CliError(`dlq ${verb}: give the ID of a dead letter, or --all`, 2);
  return all ? "*" : id!;
}

export function registerDlq(program: Command): void {
  const dlq = program.command("dlq").description("see and repair dead letters");

  dlq
    .command("list")
    .description("dead letters, newest first")
    .option("--limit <n>", "how many", positiveWholeNumber, 50)
    .option("--json", "print JSON")
    .action((options: { limit: number; json?: boolean }) =>
      run(async () => {
        const { total, records } = await withQueue((q) => listDeadLetters(q, options.limit));
        if (options.json) return printJson({ total, records });
        if (total === 0) return void process.stdout.write("no dead letters\n");
        printTable(records.map(summarise).map((r) => ({ id: r.id, provider: r.provider, tenant: r.tenant, attempts: r.attempts, reason: r.reason, dead: r.deadAt })));
        if (total > records.length) process.stdout.write(`… ${total - records.length} more (--limit)\n`);
      }),
    );

  dlq
    .command("show <id>")
    .description("one dead letter in full: job, attempts, last error, times")
    .action((id: string) =>
      run(async () => {
        const record = await withQueue((q) => findDeadLetter(q, id));
        if (!record) throw new CliError(`no dead letter with id ${id}`);
        printJson(record);
      }),
    );

  dlq
    .command("requeue [id]")
    .description("put one dead letter (or --all) back on the ready list, attempts reset")
    .option("--all", "every dead letter")
    .action((id: string | undefined, options: { all?: boolean }) =>
      run(async () => {
        const which = target(id, options.all, "requeue");
        const n = await withQueue((q) => requeueDeadLetters(q, which));
        if (n === 0 && which !== "*") throw new CliError(`no dead letter with id ${id} that can be requeued`);
        process.stdout.write(`requeued ${n}\n`);
      }),
    );

  dlq
    .command("purge [id]")
    .description("delete one dead letter (or --all) for good")
    .option("--all", "every dead letter")
    .action((id: string | undefined, options: { all?: boolean }) =>
      run(async () => {
        const which = target(id, options.all, "purge");
        const n = await withQueue((q) => purgeDeadLetters(q, which));
        if (n === 0 && which !== "*") throw new CliError(`no dead letter with id ${id}`);
        process.stdout.write(`purged ${n}\n`);
      }),
    );
}
