import type { Command } from "commander";
import { registerConsumer } from "./consumer.ts";
import { registerDev } from "./dev.ts";
import { registerDlq } from "./dlq.ts";
import { registerParse } from "./parse.ts";
import { registerProviders } from "./providers.ts";
import { registerQueue } from "./queue.ts";
import { registerSecrets } from "./secrets.ts";
import { registerTenants } from "./tenants.ts";
import { registerWebhooks } from "./webhooks.ts";
import { registerApiTokens } from "./api-tokens.ts";

export function registerCommands(program: Command): void {
  registerConsumer(program);
  registerDev(program);
  registerQueue(program);
  registerDlq(program);
  registerParse(program);
  registerProviders(program);
  registerSecrets(program);
  registerTenants(program);
  registerWebhooks(program);
  registerApiTokens(program);
}
