// Typed values from an environment record: process.env in Node, the Worker's bindings at the
// edge. An empty value counts as unset; a value that is set but malformed is an error that names
// the variable, never a silent fallback to the default.

export type Env = Readonly<Record<string, string | undefined>>;

function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function number(env: Env, name: string, fallback: number, valid: (n: number) => boolean, what: string): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!valid(n)) throw new RangeError(`${name} must be ${what}, got ${JSON.stringify(value)}`);
  return n;
}

export const positiveNumber = (env: Env, name: string, fallback: number) => number(env, name, fallback, (n) => Number.isFinite(n) && n > 0, "a positive number");
export const positiveInteger = (env: Env, name: string, fallback: number) => number(env, name, fallback, (n) => Number.isInteger(n) && n > 0, "a positive whole number");
export const wholeNumber = (env: Env, name: string, fallback: number) => number(env, name, fallback, (n) => Number.isInteger(n) && n >= 0, "a whole number, 0 or more");

export function text(env: Env, name: string): string | undefined;
export function text(env: Env, name: string, fallback: string): string;
export function text(env: Env, name: string, fallback?: string): string | undefined {
  return raw(env, name) ?? fallback;
}

/** `1`/`true`/`yes` or `0`/`false`/`no`. */
export function flag(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (["1", "true", "yes"].includes(value)) return true;
  if (["0", "false", "no"].includes(value)) return false;
  throw new RangeError(`${name} must be 1 or 0, got ${JSON.stringify(value)}`);
}

/** An absolute http(s) URL. */
export function url(env: Env, name: string, fallback?: string): string | undefined {
  const value = raw(env, name) ?? fallback;
  if (value === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new RangeError(`${name} must be an absolute URL, got ${JSON.stringify(value)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new RangeError(`${name} must be an http(s) URL, got ${JSON.stringify(value)}`);
  return value;
}
