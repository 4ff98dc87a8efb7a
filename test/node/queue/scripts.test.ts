import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { scripts } from "../../../src/queue/scripts.generated.ts";

describe("Lua scripts", () => {
  it("the generated bundle matches src/queue/lua", () => {
    expect(() => execFileSync(process.execPath, ["scripts/build-lua.ts", "--check"], { stdio: "pipe" })).not.toThrow();
  });

  it("one file per transition, each opening with a header that names its KEYS and ARGV", () => {
    const files = readdirSync("src/queue/lua").filter((f) => f.endsWith(".lua"));
    expect(Object.keys(scripts)).toHaveLength(files.length);
    for (const file of files) {
      const text = readFileSync(`src/queue/lua/${file}`, "utf8");
      expect(text.startsWith("--[[")).toBe(true);
      expect(text).toMatch(/KEYS\[1\]/);
      const keys = Number(/-(\d+)\.lua$/.exec(file)?.[1]);
      expect(text).toContain(`KEYS[${keys}]`);
      expect(text).not.toContain(`KEYS[${keys + 1}]`);
    }
  });

  it("the queue module imports nothing Node-only or Worker-only", () => {
    for (const file of readdirSync("src/queue").filter((f) => f.endsWith(".ts"))) {
      const text = readFileSync(`src/queue/${file}`, "utf8");
      expect(text, file).not.toMatch(/from "node:|from "cloudflare:|from "ioredis"|from "pg"/);
    }
  });
});
