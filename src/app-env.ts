// Hono's type parameters for the app: the bindings and what middleware puts on the context.
import type { EdgeConfig, Env } from "./env.ts";

export type AppEnv = { Bindings: Env; Variables: { config: EdgeConfig } };
