// `npm run fuzz`: mutated requests across every route against the built Worker in plain workerd
// (see bench/support/fuzz.ts for the mutation classes and invariants). Exits 1 on any violation.
// Writes bench/results/fuzz.md and bench/results/fuzz.json.
//   node bench/fuzz.ts [--requests 100000] [--seed N] [--big-bodies 20] [--no-write]
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { startEdge } from "./support/edge.ts";
import { fuzzMarkdown, runFuzz } from "./support/fuzz.ts";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const requests = arg("requests", 100_000);
const seed = arg("seed", 20261201);
const bigBodies = arg("big-bodies", 20);
const write = !process.argv.includes("--no-write");

const edge = await startEdge();
// Ctrl-C or a kill stops what the run started (workerd, Redis, the REST bridge) before exiting.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void edge.close().finally(() => process.exit(130)));
try {
  const report = await runFuzz(edge, { requests, seed, bigBodies, progress: (n) => process.stderr.write(`\r${n.toLocaleString("en")} / ${requests.toLocaleString("en")}`) });
  process.stderr.write("\n");
  const warnings = edge.workerd.output.filter((line) => !line.startsWith("{") && /warn|compat/i.test(line));
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? "?"}, shared with other engineers' test runs (load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} at the end); Node ${process.version}${warnings.length ? `; workerd said: ${warnings.join("; ").slice(0, 300)}` : ""}`;
  const md = fuzzMarkdown(report, { machine, command: `node bench/fuzz.ts --requests ${requests} --seed ${seed} --big-bodies ${bigBodies}`, build: edge.build });
  if (write) {
    writeFileSync(new URL("results/fuzz.md", import.meta.url), md);
    writeFileSync(new URL("results/fuzz.json", import.meta.url), `${JSON.stringify({ seed, machine, ...report }, null, 2)}\n`);
  }
  console.log(md);
  process.exitCode = report.violationCount === 0 ? 0 : 1;
} finally {
  await edge.close();
}
