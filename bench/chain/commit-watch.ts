// When each mail's processing transaction committed, as seen from outside: a trigger on
// email_processed_messages sends NOTIFY with the row's identity (the Message-ID), which
// PostgreSQL delivers only once the transaction has committed; a listening connection notes the
// time it arrived. The trigger is the benchmark's, added to its own database; it costs each
// processing transaction one NOTIFY, so it only makes Inlet look slower.
import pg from "pg";

const CHANNEL = "inlet_e2e_committed";

export class CommitWatch {
  readonly committed = new Map<string, number>();
  readonly #client: pg.Client;

  private constructor(client: pg.Client) {
    this.#client = client;
  }

  static async start(databaseUrl: string): Promise<CommitWatch> {
    const client = new pg.Client({ connectionString: databaseUrl });
    client.on("error", () => undefined); // the server going away at the end of a run
    await client.connect();
    await client.query(`CREATE OR REPLACE FUNCTION e2e_bench_committed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('${CHANNEL}', NEW.identity); RETURN NULL; END $$`);
    await client.query("DROP TRIGGER IF EXISTS e2e_bench_committed ON email_processed_messages");
    await client.query("CREATE TRIGGER e2e_bench_committed AFTER INSERT ON email_processed_messages FOR EACH ROW EXECUTE FUNCTION e2e_bench_committed()");
    const watch = new CommitWatch(client);
    client.on("notification", (n) => {
      if (n.channel === CHANNEL && n.payload && !watch.committed.has(n.payload)) watch.committed.set(n.payload, Date.now());
    });
    await client.query(`LISTEN ${CHANNEL}`);
    return watch;
  }

  /** Resolves when every identity has committed, or after `timeoutMs` (then some have not). */
  async waitFor(identities: readonly string[], timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (identities.every((id) => this.committed.has(id))) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return identities.every((id) => this.committed.has(id));
  }

  async stop(): Promise<void> {
    await this.#client.end().catch(() => undefined);
  }
}
