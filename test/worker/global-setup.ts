// Node-side setup for the Worker tests: the REST bridge in front of the real Redis, and a JWKS
// server with a fresh RSA key (Google's and Microsoft's key endpoints, as far as the Worker can tell).
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { TestProject } from "vitest/node";
import { startJwksServer } from "../../dev/fakes/jwks.ts";

/** The bridge runs as its own Node process: this file is loaded with the Worker project's
 * resolve conditions, under which Node-only clients such as ioredis do not resolve. */
async function startBridgeProcess(token: string): Promise<{ url: string; close(): Promise<void> }> {
  const child = spawn(process.execPath, ["dev/rest-bridge-main.ts"], {
    env: { ...process.env, INLET_REST_TOKEN: token, INLET_REST_PORT: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => line.startsWith("listening ") && resolve(line.slice(10)));
    child.once("exit", (code) => reject(new Error(`REST bridge exited (${code})`)));
  });
  return {
    url,
    close: () => new Promise<void>((resolve) => (child.once("exit", () => resolve()), child.kill("SIGTERM"))),
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    restUrl: string;
    restToken: string;
    jwksUrl: string;
    /** The private half of the JWKS server's key, for the tests to sign tokens with. */
    signingJwk: string;
    otherSigningJwk: string;
  }
}

export default async function setup(project: TestProject) {
  const bridge = await startBridgeProcess("worker-test-token");
  const jwks = await startJwksServer();
  project.provide("restUrl", bridge.url);
  project.provide("restToken", "worker-test-token");
  project.provide("jwksUrl", jwks.url);
  project.provide("signingJwk", JSON.stringify(jwks.privateJwk));
  project.provide("otherSigningJwk", JSON.stringify(jwks.unknownPrivateJwk));
  return async () => {
    await bridge.close();
    await jwks.close();
  };
}
