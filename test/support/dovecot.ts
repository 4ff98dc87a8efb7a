// Test helpers around the private Dovecot of dev/dovecot.ts (which the local stack uses
// too): APPEND over IMAP with the resulting UID, and freezing the server (SIGSTOP on its process
// group) to make a request hang mid-job.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ImapFlow } from "imapflow";
import type { Dovecot } from "../../dev/dovecot.ts";

export { startDovecot, type Dovecot, type DovecotUser } from "../../dev/dovecot.ts";

/** APPEND a message as the user would (UIDPLUS): its UID and the folder's UIDVALIDITY. */
export async function append(dovecot: Dovecot, login: { user: string; password: string }, raw: Uint8Array | string, folder = "INBOX"): Promise<{ uid: number; uidValidity: string }> {
  const client = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: login.user, pass: login.password }, logger: false });
  await client.connect();
  try {
    const result = await client.append(folder, typeof raw === "string" ? raw : Buffer.from(raw));
    if (!result || result.uid === undefined || result.uidValidity === undefined) throw new Error("the server did not report the appended UID (UIDPLUS)");
    return { uid: result.uid, uidValidity: String(result.uidValidity) };
  } finally {
    await client.logout().catch(() => client.close());
  }
}

function signalGroup(dovecot: Dovecot, signal: NodeJS.Signals): void {
  const pid = Number(readFileSync(join(dovecot.dir, "run", "master.pid"), "utf8").trim());
  // The master leads the process group of every Dovecot process (login, imap, auth, ...).
  process.kill(-pid, signal);
}

/** Stop every Dovecot process: connections stay open, nothing answers. */
export const freeze = (dovecot: Dovecot) => signalGroup(dovecot, "SIGSTOP");
export const thaw = (dovecot: Dovecot) => signalGroup(dovecot, "SIGCONT");
