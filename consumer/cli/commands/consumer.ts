import type { Command } from "commander";
import { startConsumerApp } from "../../app.ts";
import { consumerConfig } from "../../config.ts";
import { createLogger } from "../../runtime/log.ts";
import { stopOnSignals } from "../../runtime/signals.ts";

export function registerConsumer(program: Command): void {
  program
    .command("consumer")
    .description("run the consumer: claim pointers, fetch, process, ack (also the IMAP listener and upkeep)")
    .action(async () => {
      const log = createLogger();
      try {
        const app = await startConsumerApp(consumerConfig(process.env), log);
        stopOnSignals(log, () => app.stop());
      } catch (error) {
        log.error({ event: "inbound_email_consumer_start_failed", err: error }, "consumer could not start");
        log.flush();
        process.exitCode = 1;
        setTimeout(() => process.exit(1), 100);
      }
    });
}
