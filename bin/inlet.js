#!/usr/bin/env node
// The `inlet` command. Inlet's TypeScript runs directly on Node >= 22.18 (type stripping); on an
// older Node this re-runs itself on the Node 22 the project installs (the `node` dev dependency).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const main = join(root, "consumer", "cli", "main.ts");
const [major, minor] = process.versions.node.split(".").map(Number);

if (major > 22 || (major === 22 && minor >= 18)) {
  await import(main);
} else {
  const bin = join(root, "node_modules", ".bin");
  const bundled = join(bin, process.platform === "win32" ? "node.cmd" : "node");
  if (!existsSync(bundled)) {
    console.error(`inlet needs Node.js >= 22.18 (this is ${process.version}); run npm install in ${root} to get it.`);
    process.exit(2);
  }
  // The project's own tools first on the child's PATH, as npm scripts have them: what inlet
  // starts (wrangler, for one) then runs on the same Node 22, not on the older one found first.
  const env = { ...process.env, PATH: [bin, process.env.PATH].filter(Boolean).join(delimiter) };
  const child = spawn(bundled, [main, ...process.argv.slice(2)], { stdio: "inherit", env });
  // Pass stop signals on, so `inlet consumer` and `inlet dev` shut down gracefully behind this
  // shim when only the shim is signalled. A signal to the whole process group (Ctrl-C, a
  // container stop) reaches the child as well; the child counts a repeat within a moment as one.
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
