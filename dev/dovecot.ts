// A private Dovecot IMAP server (tests, and the local stack when Dovecot is installed): its own config, passwd-file users and Maildirs in a
// temp directory, listening on a free loopback port. Real IMAP: UIDPLUS, IDLE, UIDVALIDITY.
import { execFile, execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { answers, waitUntil } from "./processes.ts";
import { freePort } from "./free-port.ts";

const run = promisify(execFile);

export interface DovecotUser {
  user: string;
  password: string;
}

export interface Dovecot {
  host: string;
  port: number;
  dir: string;
  /** Deliver a message into a user's folder (as the LDA does, not over IMAP). */
  deliver(user: string, raw: string | Uint8Array, folder?: string): Promise<void>;
  /** Deliver into the user's INBOX as an MTA writing the Maildir does (tmp/, then a rename into
   * new/): no process per message, for benchmarks that deliver thousands. */
  dropIntoMaildir(user: string, raw: string | Uint8Array): void;
  setUidValidity(user: string, value: number, folder?: string): Promise<void>;
  /** End the user's open IMAP sessions (as a server does when their token expires). */
  kick(user: string): Promise<void>;
  restart(): Promise<void>;
  /** Crash the server (every process, open sessions too), keeping its mail, until resume(). */
  halt(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** Whether Dovecot's server and admin tool are on PATH. */
export function dovecotInstalled(): boolean {
  try {
    execFileSync("sh", ["-c", "command -v dovecot && command -v doveadm"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export interface DovecotOptions {
  /** OAuth2 logins too: SASL XOAUTH2 (the mechanism Outlook's and Gmail's IMAP share), each token
   * checked by RFC 7662 introspection (POST token=…) at this URL. Passwords keep working. */
  oauth2?: { introspectionUrl: string };
  /** Open IMAP sessions to allow (default: Dovecot's, 100 processes). Each session is an imap
   * process; logins are served by long-lived login processes then. */
  maxConnections?: number;
}

export async function startDovecot(users: DovecotUser[], options: DovecotOptions = {}): Promise<Dovecot> {
  if (!dovecotInstalled()) {
    throw new Error("Dovecot is not installed: run `bash .ci/install-dovecot.sh` (Debian package dovecot-imapd)");
  }
  const dir = mkdtempSync(join(tmpdir(), "inlet-dovecot-"));
  chmodSync(dir, 0o755); // the auth process runs as nobody and must reach the passwd-file
  const port = await freePort();
  for (const sub of ["run", "state", "mail"]) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, "users"), users.map((u) => `${u.user}:{PLAIN}${u.password}:65534:65534::${join(dir, "mail", u.user)}`).join("\n") + "\n");
  const conf = join(dir, "dovecot.conf");
  const oauth2 = options.oauth2;
  if (oauth2) {
    writeFileSync(
      join(dir, "oauth2.conf"),
      `introspection_mode = post
introspection_url = ${oauth2.introspectionUrl}
username_attribute = email
active_attribute = active
active_value = true
force_introspection = yes
`,
    );
  }
  writeFileSync(
    conf,
    `protocols = imap
listen = 127.0.0.1
base_dir = ${join(dir, "run")}
state_dir = ${join(dir, "state")}
log_path = ${join(dir, "dovecot.log")}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login${oauth2 ? " xoauth2" : ""}
mail_location = maildir:~/Maildir
first_valid_uid = 1
default_login_user = nobody
default_internal_user = nobody
default_internal_group = nogroup
passdb {
  driver = passwd-file
  args = ${join(dir, "users")}${oauth2 ? "\n  mechanisms = plain login" : ""}
}${oauth2 ? `\npassdb {\n  driver = oauth2\n  mechanisms = xoauth2\n  args = ${join(dir, "oauth2.conf")}\n}` : ""}
userdb {
  driver = passwd-file
  args = ${join(dir, "users")}
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
  chroot =${options.maxConnections ? `\n  service_count = 0\n  process_min_avail = 2\n  client_limit = ${options.maxConnections + 100}` : ""}
}
service anvil {
  chroot =
}
${options.maxConnections ? scaled(options.maxConnections) : ""}`,
  );
  for (const u of users) mkdirSync(join(dir, "mail", u.user), { recursive: true });
  execFileSync("chown", ["-R", "65534:65534", join(dir, "mail")]);

  const start = async () => {
    // dovecot daemonizes; its pipes would stay open, so give it none and wait for the parent to exit.
    await new Promise<void>((resolve, reject) => {
      const child = spawn("dovecot", ["-c", conf], { stdio: "ignore" });
      child.on("error", reject);
      child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`dovecot exited ${code}; see ${join(dir, "dovecot.log")}`))));
    });
    await waitUntil(() => answers(port), 10_000, `Dovecot on port ${port}`);
  };
  const masterPid = (): number | undefined => {
    try {
      return Number(readFileSync(join(dir, "run", "master.pid"), "utf8").trim());
    } catch {
      return undefined;
    }
  };
  /** Kill the master and every process of its group, open IMAP sessions included (a crash). */
  const crash = async () => {
    const pid = masterPid();
    if (pid === undefined) return;
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      process.kill(pid, "SIGKILL");
    }
    await new Promise((r) => setTimeout(r, 200));
    rmSync(join(dir, "run", "master.pid"), { force: true });
  };
  const stopServer = async () => {
    const pid = masterPid();
    if (pid === undefined) return;
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      return;
    }
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    process.kill(pid, "SIGKILL");
  };
  await start();

  return {
    host: "127.0.0.1",
    port,
    dir,
    async deliver(user, raw, folder = "INBOX") {
      await new Promise<void>((resolve, reject) => {
        const child = execFile("doveadm", ["-c", conf, "save", "-u", user, "-m", folder], (error) => (error ? reject(error) : resolve()));
        child.stdin!.end(typeof raw === "string" ? raw : Buffer.from(raw));
      });
    },
    dropIntoMaildir(user, raw) {
      const maildir = join(dir, "mail", user, "Maildir");
      for (const sub of ["tmp", "new", "cur"]) mkdirSync(join(maildir, sub), { recursive: true });
      const name = `${Date.now()}.M${process.hrtime.bigint()}P${process.pid}.inlet`;
      writeFileSync(join(maildir, "tmp", name), typeof raw === "string" ? raw : Buffer.from(raw));
      chownSync(join(maildir, "tmp", name), 65534, 65534);
      renameSync(join(maildir, "tmp", name), join(maildir, "new", name));
    },
    async setUidValidity(user, value, folder = "INBOX") {
      await run("doveadm", ["-c", conf, "mailbox", "update", "-u", user, "--uid-validity", String(value), folder]);
    },
    async kick(user) {
      await run("doveadm", ["-c", conf, "kick", user]).catch(() => undefined);
    },
    async restart() {
      await stopServer();
      await start();
    },
    halt: crash,
    resume: start,
    async stop() {
      await stopServer();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Settings for many sessions at once: an imap process per session up to `connections`, and
 * login processes that each serve many logins (Dovecot's high-performance mode). Each session
 * watches its Maildir with an inotify instance while it IDLEs, and a user may have only 128 of
 * them (fs.inotify.max_user_instances; every session here runs as nobody): the rest fall back
 * to looking every mailbox_idle_check_interval, which is 30 s unless set shorter. */
function scaled(connections: number): string {
  return `mailbox_idle_check_interval = 1 secs
default_process_limit = ${connections + 100}
default_client_limit = ${connections * 2 + 200}
service imap {
  process_limit = ${connections + 100}
}
`;
}
