// Everything the harness starts registers how to stop it here; run() stops it all in reverse
// order, once, whether the run ended, failed or was interrupted (onSignals: SIGINT, SIGTERM).
export class Cleanup {
  readonly #steps: { name: string; stop: () => Promise<void> }[] = [];
  #running: Promise<void> | undefined;

  add(name: string, stop: () => Promise<void>): void {
    this.#steps.push({ name, stop });
  }

  run(log: (line: string) => void = () => undefined): Promise<void> {
    this.#running ??= (async () => {
      for (const step of this.#steps.reverse()) {
        await step.stop().catch((error: unknown) => log(`could not stop ${step.name}: ${error instanceof Error ? error.message : String(error)}`));
      }
    })();
    return this.#running;
  }

  /** Stop everything on SIGINT / SIGTERM (then exit 130) and on an error nothing caught (exit 1):
   * PostgreSQL and Dovecot run detached and would outlive this process otherwise. */
  onSignals(log: (line: string) => void): void {
    const handler = (signal: NodeJS.Signals) => {
      log(`${signal}: stopping every process the run started`);
      void this.run(log).then(() => process.exit(130));
    };
    process.once("SIGINT", handler);
    process.once("SIGTERM", handler);
    const fatal = (error: unknown) => {
      log(`unexpected error, stopping every process the run started: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      void this.run(log).then(() => process.exit(1));
    };
    process.once("uncaughtException", fatal);
    process.once("unhandledRejection", fatal);
  }
}
