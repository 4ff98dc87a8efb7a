// Ingress benchmark: requests/s, latency and workerd CPU per request for the verified routes and,
// side by side in the same build and the same workerd, bare routes that make the same single
// ingest call with no verification (bench/support/bare-entry.ts, never deployed):
//   google   Pub/Sub push: OIDC JWT verify + body + one ingest       vs /bare/google
//   imap     HMAC-signed listener post (one UID)                    vs /bare/imap
//   graph50  a 50-item changeNotificationCollection (50 clientState hashes) vs /bare/microsoft (50 items)
// Load from autocannon (connections from --connections), each request with fresh ids so every
// one enqueues. Several rounds; in each, every scenario runs verified and bare back to back, the
// side that goes first alternating; the ratio is the median of the rounds' ratios, each shown.
// Redis script calls per request come from INFO commandstats of the edge's own Redis.
// Also: bundle size (raw, gzip) and cold start (workerd spawn → first /healthz answer, and → first
// accepted Google push, which includes the JWKS fetch), medians of --cold-starts spawns.
// Writes bench/results/ingress.md and bench/results/ingress.json.
//   node bench/ingress.ts [--rounds 5] [--seconds 5] [--connections 16] [--only google] [--cold-starts 7]
//   node bench/ingress.ts --cold-start-only --script path/to/index.js [--flags nodejs_compat]   (cold start of another bundle)
import { createHmac, createHash, randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname } from "node:path";
import { gzipSync } from "node:zlib";
import autocannon from "autocannon";
import { importJWK, SignJWT } from "jose";
import { registryField, registryValue } from "../src/queue/registry.ts";
import { buildWorker, GOOGLE_AUDIENCE, GOOGLE_PUSH_ACCOUNT, IMAP_SECRET, startEdge, startWorkerd, type Build, type Edge } from "./support/edge.ts";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const text = (name: string) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : undefined);
const ROUNDS = arg("rounds", 5);
const SECONDS = arg("seconds", 5);
const CONNECTIONS = arg("connections", 16);
const COLD_STARTS = arg("cold-starts", 7);
const ONLY = text("only") ?? "";

const MAILBOX = "support@bench.example";
const IMAP_PROVIDER = "bench-imap";
const SUBSCRIPTIONS = Array.from({ length: 5 }, (_, i) => ({ id: `bench-sub-${i}`, clientState: createHash("sha256").update(`bench-state-${i}`).digest("base64url") }));
const sha256Hex = (t: string) => createHash("sha256").update(t).digest("hex");

interface Scenario {
  name: string;
  verified: { path: string; headers: (body: string) => Record<string, string>; body: () => string };
  bare: { path: string; headers: (body: string) => Record<string, string>; body: () => string };
  items: number;
}

let n = 0;
const nextId = () => `${(n++).toString(36)}-${randomUUID().slice(0, 8)}`;
let history = 10_000_000;
let uid = 1;

function scenarios(token: string): Scenario[] {
  const push = () => JSON.stringify({ message: { data: Buffer.from(JSON.stringify({ emailAddress: MAILBOX, historyId: String(++history) })).toString("base64"), messageId: `pubsub-${nextId()}`, publishTime: new Date().toISOString() }, subscription: "projects/bench/subscriptions/gmail" });
  const imap = () => JSON.stringify({ providerId: IMAP_PROVIDER, mailbox: "INBOX", uidValidity: "1700000000", uids: [uid++] });
  const sign = (body: string) => {
    const t = Math.floor(Date.now() / 1000);
    return `t=${t},v1=${createHmac("sha256", IMAP_SECRET).update(`${t}.${body}`).digest("hex")}`;
  };
  const graph = (hashed: boolean) => () =>
    JSON.stringify({
      value: Array.from({ length: 50 }, (_, i) => {
        const sub = SUBSCRIPTIONS[i % SUBSCRIPTIONS.length]!;
        const id = `AAMk-${nextId()}`;
        return {
          subscriptionId: sub.id,
          subscriptionExpirationDateTime: "2026-12-10T00:00:00Z",
          clientState: hashed ? sha256Hex(sub.clientState) : sub.clientState,
          changeType: "created",
          resource: `Users/bench-user/Messages/${id}`,
          tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
          resourceData: { "@odata.type": "#Microsoft.Graph.Message", "@odata.id": `Users/bench-user/Messages/${id}`, "@odata.etag": 'W/"CQAAABYAAAD"', id },
        };
      }),
    });
  const json = () => ({ "content-type": "application/json" });
  return [
    { name: "google", items: 1, verified: { path: "/webhooks/google", headers: () => ({ ...json(), authorization: `Bearer ${token}` }), body: push }, bare: { path: "/bare/google", headers: json, body: push } },
    { name: "imap", items: 1, verified: { path: "/webhooks/imap", headers: (b) => ({ ...json(), "x-inlet-signature": sign(b) }), body: imap }, bare: { path: "/bare/imap", headers: (b) => ({ ...json(), "x-inlet-signature": sign(b) }), body: imap } },
    { name: "graph50", items: 50, verified: { path: "/webhooks/microsoft", headers: json, body: graph(false) }, bare: { path: "/bare/microsoft", headers: json, body: graph(true) } },
  ];
}

interface Run {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerRequest: number;
  redisCallsPerRequest: number;
  requests: number;
  non2xx: number;
  errors: number;
}

async function load(edge: Edge, side: Scenario["verified"]): Promise<Run> {
  const cpuBefore = edge.workerd.cpuMs();
  const redisBefore = (await edge.redisCommands()).calls;
  const result = await autocannon({
    url: edge.url,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [
      {
        method: "POST",
        path: side.path,
        setupRequest: (req: autocannon.Request) => {
          const body = side.body();
          req.body = body;
          req.headers = side.headers(body);
          return req;
        },
      },
    ],
  });
  const cpu = edge.workerd.cpuMs() - cpuBefore;
  const calls = (await edge.redisCommands()).calls - redisBefore;
  const total = result.requests.total;
  return {
    requestsPerSecond: total / (result.duration || SECONDS),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    cpuMsPerRequest: total ? cpu / total : 0,
    redisCallsPerRequest: total ? calls / total : 0,
    requests: total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Spawns workerd `count` times: ms to the first /healthz answer, then ms to the first of 10
 * concurrent Google pushes accepted (they share one JWKS fetch: counted). */
async function coldStarts(edge: Edge, build: Build, token: string, count: number): Promise<{ healthzMs: number[]; firstPushMs: number[]; jwksFetchesPerStart: number[] }> {
  const healthzMs: number[] = [];
  const firstPushMs: number[] = [];
  const jwksFetchesPerStart: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const w = await startWorkerd(build, edge.bindings);
    healthzMs.push(w.coldStartMs);
    const fetchesBefore = edge.jwks.requests();
    let first = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        const body = JSON.stringify({ message: { data: Buffer.from(JSON.stringify({ emailAddress: MAILBOX, historyId: String(++history) })).toString("base64"), messageId: `cold-${nextId()}` }, subscription: "s" });
        const res = await fetch(`${w.url}/webhooks/google`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body });
        await res.arrayBuffer();
        if ((res.status === 202 || res.status === 204) && !first) first = performance.now() - started;
      }),
    );
    if (first) firstPushMs.push(first);
    jwksFetchesPerStart.push(edge.jwks.requests() - fetchesBefore);
    await w.stop();
  }
  return { healthzMs, firstPushMs, jwksFetchesPerStart };
}

const edge = await startEdge({ entry: "bench/support/bare-entry.ts" });
// Ctrl-C or a kill stops what the run started (workerd, Redis, the REST bridge) before exiting.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void edge.close().finally(() => process.exit(130)));
try {
  const entries: Record<string, string> = {};
  for (const s of SUBSCRIPTIONS) entries[registryField.microsoftSubscription(s.id)] = registryValue({ tenantId: "bench", providerId: `p-${s.id}`, secretHash: sha256Hex(s.clientState) });
  entries[registryField.googleMailbox(MAILBOX)] = registryValue({ tenantId: "bench", providerId: "p-gmail" });
  entries[registryField.imapProvider(IMAP_PROVIDER)] = registryValue({ tenantId: "bench", providerId: IMAP_PROVIDER });
  await edge.redis.hset(edge.keys.registry, entries);
  const key = await importJWK(edge.jwks.privateJwk, "RS256");
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ iss: "https://accounts.google.com", aud: GOOGLE_AUDIENCE, email: GOOGLE_PUSH_ACCOUNT, email_verified: true, iat: now, exp: now + 3600, sub: "1" }).setProtectedHeader({ alg: "RS256", kid: edge.jwks.privateJwk.kid, typ: "JWT" }).sign(key);

  if (process.argv.includes("--cold-start-only")) {
    const script = text("script");
    const flags = text("flags");
    const build: Build = script ? { ...edge.build, dir: dirname(script), script, bytes: readFileSync(script).length, gzipBytes: gzipSync(readFileSync(script), { level: 9 }).length, ...(flags ? { compatibilityFlags: flags.split(",") } : {}) } : edge.build;
    const cold = await coldStarts(edge, build, token, COLD_STARTS);
    console.log(JSON.stringify({ script: build.script, bytes: build.bytes, gzipBytes: build.gzipBytes, healthzMedianMs: median(cold.healthzMs), firstPushMedianMs: cold.firstPushMs.length ? median(cold.firstPushMs) : null, ...cold }, null, 2));
  } else {
    const list = scenarios(token).filter((s) => !ONLY || s.name.includes(ONLY));
    // Warm up: JWKS fetched, scripts cached, JIT warm.
    for (const s of list) for (const side of [s.verified, s.bare]) {
      const body = side.body();
      await (await fetch(`${edge.url}${side.path}`, { method: "POST", headers: side.headers(body), body })).arrayBuffer();
    }
    const jwksAfterWarmup = edge.jwks.requests();
    const results: Record<string, { verified: Run[]; bare: Run[]; ratios: number[]; cpuRatios: number[] }> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of list) {
        const r = (results[s.name] ??= { verified: [], bare: [], ratios: [], cpuRatios: [] });
        const order = round % 2 === 0 ? (["verified", "bare"] as const) : (["bare", "verified"] as const);
        const runs: Partial<Record<"verified" | "bare", Run>> = {};
        for (const side of order) {
          runs[side] = await load(edge, s[side]);
          process.stderr.write(`round ${round + 1} ${s.name} ${side}: ${runs[side].requestsPerSecond.toFixed(0)} req/s, ${runs[side].cpuMsPerRequest.toFixed(3)} ms CPU\n`);
        }
        r.verified.push(runs.verified!);
        r.bare.push(runs.bare!);
        r.ratios.push(runs.verified!.requestsPerSecond / runs.bare!.requestsPerSecond);
        r.cpuRatios.push(runs.bare!.cpuMsPerRequest / runs.verified!.cpuMsPerRequest);
      }
    }
    const shipped = await buildWorker();
    const cold = await coldStarts(edge, shipped, token, COLD_STARTS);
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? "?"}, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} at the end; shared with other engineers' test runs (numbers are noisy); Node ${process.version}`;
    const summary = Object.fromEntries(
      Object.entries(results).map(([name, r]) => [
        name,
        {
          ratio: median(r.ratios),
          cpuRatio: median(r.cpuRatios),
          verified: { requestsPerSecond: median(r.verified.map((x) => x.requestsPerSecond)), p50Ms: median(r.verified.map((x) => x.p50Ms)), p99Ms: median(r.verified.map((x) => x.p99Ms)), cpuMsPerRequest: median(r.verified.map((x) => x.cpuMsPerRequest)), redisCallsPerRequest: median(r.verified.map((x) => x.redisCallsPerRequest)) },
          bare: { requestsPerSecond: median(r.bare.map((x) => x.requestsPerSecond)), p50Ms: median(r.bare.map((x) => x.p50Ms)), p99Ms: median(r.bare.map((x) => x.p99Ms)), cpuMsPerRequest: median(r.bare.map((x) => x.cpuMsPerRequest)), redisCallsPerRequest: median(r.bare.map((x) => x.redisCallsPerRequest)) },
          rounds: r,
        },
      ]),
    );
    const out = {
      machine,
      command: `node bench/ingress.ts --rounds ${ROUNDS} --seconds ${SECONDS} --connections ${CONNECTIONS}`,
      bundle: { bytes: shipped.bytes, gzipBytes: shipped.gzipBytes },
      coldStart: { healthzMedianMs: median(cold.healthzMs), firstPushMedianMs: cold.firstPushMs.length ? median(cold.firstPushMs) : null, ...cold },
      jwksFetchesDuringWarmup: jwksAfterWarmup,
      workerdWarnings: edge.workerd.output.filter((l) => !l.startsWith("{") && /compat|warn/i.test(l)),
      scenarios: summary,
    };
    const md = markdown(out);
    console.log(md);
    if (!ONLY) {
      writeFileSync(new URL("results/ingress.json", import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
      writeFileSync(new URL("results/ingress.md", import.meta.url), md);
    }
  }
} finally {
  await edge.close();
}

function markdown(out: {
  machine: string;
  command: string;
  bundle: { bytes: number; gzipBytes: number };
  coldStart: { healthzMedianMs: number; firstPushMedianMs: number | null; healthzMs: number[]; firstPushMs: number[]; jwksFetchesPerStart: number[] };
  jwksFetchesDuringWarmup: number;
  workerdWarnings: string[];
  scenarios: Record<string, { ratio: number; cpuRatio: number; verified: Record<string, number>; bare: Record<string, number>; rounds: { verified: Run[]; bare: Run[]; ratios: number[]; cpuRatios: number[] } }>;
}): string {
  const f = (x: number, d = 0) => x.toLocaleString("en", { maximumFractionDigits: d, minimumFractionDigits: d });
  const lines = [
    "# Ingress benchmark",
    "",
    `\`${out.command}\` — the built Worker (\`wrangler deploy --dry-run --outdir\`) in plain \`workerd serve\`, load from autocannon ${CONNECTIONS} connections, ${SECONDS} s per run, every request with fresh ids (so every one enqueues). Bare routes: the same single ingest call, no verification, in the same build and workerd (\`bench/support/bare-entry.ts\`, not shipped). ${ROUNDS} rounds, the side that goes first alternating; ratios are the median of the rounds' ratios.`,
    `Machine: ${out.machine}. The REST bridge, Redis, autocannon and workerd share its cores, so throughput is bounded by the whole chain; workerd's own CPU per request (from /proc) is the cleaner measure of the Worker's cost.`,
    "",
    "| scenario | verified req/s | bare req/s | **ratio** (median) | p50 / p99 ms verified | p50 / p99 ms bare | workerd CPU ms/req verified | bare | CPU ratio (bare/verified) | Redis calls/req |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...Object.entries(out.scenarios).map(([name, s]) => `| ${name} | ${f(s.verified.requestsPerSecond!)} | ${f(s.bare.requestsPerSecond!)} | **${f(s.ratio * 100)}%** | ${f(s.verified.p50Ms!, 1)} / ${f(s.verified.p99Ms!, 1)} | ${f(s.bare.p50Ms!, 1)} / ${f(s.bare.p99Ms!, 1)} | ${f(s.verified.cpuMsPerRequest!, 3)} | ${f(s.bare.cpuMsPerRequest!, 3)} | ${f(s.cpuRatio * 100)}% | ${f(s.verified.redisCallsPerRequest!, 2)} / ${f(s.bare.redisCallsPerRequest!, 2)} |`),
    "",
    "Each round (verified/bare req/s, ratio; workerd CPU ms/req verified/bare):",
    "",
    ...Object.entries(out.scenarios).flatMap(([name, s]) => [`- **${name}**: ${s.rounds.ratios.map((r, i) => `${f(s.rounds.verified[i]!.requestsPerSecond)}/${f(s.rounds.bare[i]!.requestsPerSecond)} = ${f(r * 100)}% (CPU ${f(s.rounds.verified[i]!.cpuMsPerRequest, 3)}/${f(s.rounds.bare[i]!.cpuMsPerRequest, 3)})`).join("; ")}; non-2xx: ${s.rounds.verified.reduce((a, r) => a + r.non2xx + r.errors, 0)} verified, ${s.rounds.bare.reduce((a, r) => a + r.non2xx + r.errors, 0)} bare`]),
    "",
    `Bundle (as uploaded): ${f(out.bundle.bytes / 1024, 1)} KiB raw, ${f(out.bundle.gzipBytes / 1024, 1)} KiB gzip (level 9). Cold start, median of ${out.coldStart.healthzMs.length} workerd spawns: ${f(out.coldStart.healthzMedianMs, 1)} ms to the first /healthz answer, ${out.coldStart.firstPushMedianMs === null ? "n/a" : f(out.coldStart.firstPushMedianMs, 1)} ms to the first accepted Google push (JWKS fetch included); JWKS fetches by 10 concurrent first pushes after each spawn: ${out.coldStart.jwksFetchesPerStart.join(", ")}.`,
    ...(out.workerdWarnings.length ? ["", `workerd said: ${out.workerdWarnings.join("; ")}`] : []),
    "",
  ];
  return lines.join("\n");
}
