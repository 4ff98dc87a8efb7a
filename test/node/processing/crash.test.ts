// Crash test: the processing process is killed with SIGKILL at random points while it works
// through 500 messages, several times, and restarted each time. At the end there are exactly
// 500 tickets or comments, no duplicate, none missing, and every document exactly once.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { backends, testDatabase } from "../../support/database.ts";
import { openPglite } from "../../../consumer/store/pglite.ts";
import type { Db } from "../../../consumer/store/db.ts";

const TOTAL = 500;
const KILLS = 4;

/** Run the worker process; with `killAfter`, SIGKILL it once it has committed that many new
 * messages, at a random moment (0-4 ms) into whatever it is doing next. */
function run(env: Record<string, string>, killAfter?: number): Promise<{ code: number | null; signal: string | null; output: string; applied: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["test/support/fixtures/crash-processor.ts"], { env: { ...process.env, ...env, TOTAL: String(TOTAL) }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let applied = 0;
    let aimed = false;
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
      applied = output.match(/^applied /gm)?.length ?? 0;
      if (killAfter !== undefined && !aimed && applied >= killAfter) {
        aimed = true;
        setTimeout(() => child.kill("SIGKILL"), Math.floor(Math.random() * 5));
      }
    });
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("exit", (code, signal) => resolve({ code, signal, output, applied }));
  });
}

async function verify(db: Db) {
  const one = async (sql: string) => (await db.query<{ n: number }>(sql))[0]!.n;
  const tickets = await one("SELECT count(*)::int AS n FROM tickets");
  const comments = await one("SELECT count(*)::int AS n FROM ticket_comments");
  expect(tickets + comments).toBe(TOTAL);
  expect(tickets).toBe(400);
  expect(comments).toBe(100);
  const ids = await db.query<{ message_id: string }>("SELECT message_id FROM tickets UNION ALL SELECT message_id FROM ticket_comments");
  expect(new Set(ids.map((r) => r.message_id)).size).toBe(TOTAL);
  expect(await one("SELECT count(*)::int AS n FROM email_processed_messages")).toBe(TOTAL);
  expect(await one("SELECT count(*)::int AS n FROM documents")).toBe(Math.ceil(TOTAL / 3));
  expect(await one("SELECT count(*)::int AS n FROM (SELECT filename FROM documents GROUP BY filename HAVING count(*) > 1) d")).toBe(0);
  expect(await one("SELECT count(*)::int AS n FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM email_processed_messages p WHERE p.ticket_id = t.id)")).toBe(0);
}

describe.each(backends)("crash safety of processing on %s", (backend) => {
  it(`SIGKILL at random points ${KILLS} times while processing ${TOTAL} messages: exactly ${TOTAL} tickets or comments, documents once`, async () => {
    const t = await testDatabase(backend, { onDisk: true });
    // One process at a time owns a PGlite data dir: close ours while the child works.
    if (backend === "pglite") await t.db.close();
    const env: Record<string, string> = backend === "postgres" ? { DATABASE_URL: t.url! } : { PGLITE_DIR: t.dataDir! };
    // Each kill lands somewhere in the work still left, so every run is cut short and the last
    // one finishes what remains.
    let remaining = TOTAL;
    for (let i = 0; i < KILLS; i++) {
      const killAfter = 1 + Math.floor(Math.random() * Math.floor(remaining / (KILLS - i + 1)));
      const result = await run(env, killAfter);
      expect(result.signal, result.output.slice(-2000)).toBe("SIGKILL");
      remaining -= result.applied;
    }
    expect(remaining).toBeGreaterThan(0);
    const final = await run(env);
    expect(final.output).toContain("done");
    expect(final.code).toBe(0);
    const db = backend === "postgres" ? t.db : await openPglite(t.dataDir);
    try {
      await verify(db);
    } finally {
      if (backend === "pglite") await db.close();
      await t.drop();
    }
  }, 180_000);
});
