// The operator's delivery and API-token operations by name, each with the zod schema of its
// input: the CLI runs them against the database directly (DATABASE_URL, or an embedded database
// no one else has open) or asks the running consumer to (POST /admin/delivery/<name>,
// consumer/http/admin.ts), where the embedded database belongs to that process.
import { z } from "zod";
import type { DeliveryConfig } from "../config.ts";
import type { KeyRing } from "../secrets/key-ring.ts";
import type { Queryable } from "../store/db.ts";
import { createApiToken, listApiTokens, revokeApiToken } from "../read-api/tokens.ts";
import { Refusal } from "./refusal.ts";
import { addEndpoint, getEndpoint, listEndpoints, removeEndpoint, rotateSecret } from "./endpoints.ts";
import { eventTypeSchema } from "./event-types.ts";
import { deliveryCounts, listDeliveries, pingEndpoint, redeliver, redeliverAllFailed } from "./operations.ts";
import { UrlRefused } from "./url-policy.ts";

export interface AdminContext {
  db: Queryable;
  secrets: KeyRing | undefined;
  delivery: DeliveryConfig;
}

const id = z.string().min(1).max(200);

function operation<S extends z.ZodType, R>(input: S, run: (ctx: AdminContext, input: z.infer<S>) => Promise<R>) {
  return { input, run };
}

const policyOf = (c: DeliveryConfig) => ({ allowInsecureLoopback: c.allowInsecureLoopback, allowPrivateAddresses: c.allowPrivateAddresses });

export const adminOperations = {
  "webhooks.add": operation(z.strictObject({ tenantId: id, url: z.string().min(1).max(2000), events: z.array(eventTypeSchema).min(1).optional() }), (ctx, i) =>
    addEndpoint(ctx.db, ctx.secrets, policyOf(ctx.delivery), { tenantId: i.tenantId, url: i.url, ...(i.events ? { events: i.events } : {}) }),
  ),
  "webhooks.list": operation(z.strictObject({ tenantId: id.optional() }), async (ctx, i) => {
    const endpoints = await listEndpoints(ctx.db, i.tenantId);
    return Promise.all(endpoints.map(async (e) => ({ ...e, deliveries: await deliveryCounts(ctx.db, e.id) })));
  }),
  "webhooks.get": operation(z.strictObject({ id }), (ctx, i) => getEndpoint(ctx.db, i.id)),
  "webhooks.remove": operation(z.strictObject({ id }), async (ctx, i) => (await removeEndpoint(ctx.db, i.id), { removed: i.id })),
  "webhooks.rotate-secret": operation(z.strictObject({ id }), (ctx, i) => rotateSecret(ctx.db, ctx.secrets, i.id, ctx.delivery.rotationGraceMs)),
  "webhooks.test": operation(z.strictObject({ id }), (ctx, i) =>
    pingEndpoint(ctx.db, ctx.secrets, i.id, { policy: policyOf(ctx.delivery), timeoutMs: ctx.delivery.timeoutMs, maxResponseBytes: ctx.delivery.maxResponseBytes }),
  ),
  "webhooks.deliveries": operation(z.strictObject({ failedOnly: z.boolean().optional(), tenantId: id.optional(), endpointId: id.optional(), limit: z.number().int().min(1).max(1000).optional() }), (ctx, i) =>
    listDeliveries(ctx.db, i),
  ),
  "webhooks.redeliver": operation(z.strictObject({ id: z.number().int().positive() }), (ctx, i) => redeliver(ctx.db, i.id)),
  "webhooks.redeliver-failed": operation(z.strictObject({ endpointId: id.optional() }), async (ctx, i) => ({ requeued: await redeliverAllFailed(ctx.db, i.endpointId) })),
  "webhooks.counts": operation(z.strictObject({ endpointId: id.optional() }), (ctx, i) => deliveryCounts(ctx.db, i.endpointId)),
  "api-tokens.create": operation(z.strictObject({ tenantId: id, name: z.string().max(200).optional() }), (ctx, i) => createApiToken(ctx.db, i.tenantId, i.name)),
  "api-tokens.list": operation(z.strictObject({ tenantId: id.optional() }), (ctx, i) => listApiTokens(ctx.db, i.tenantId)),
  "api-tokens.revoke": operation(z.strictObject({ id }), async (ctx, i) => (await revokeApiToken(ctx.db, i.id), { revoked: i.id })),
};

export type AdminOperations = typeof adminOperations;
export type OperationName = keyof AdminOperations;
export type InputOf<N extends OperationName> = z.input<AdminOperations[N]["input"]>;
export type OutputOf<N extends OperationName> = Awaited<ReturnType<AdminOperations[N]["run"]>>;

export const isOperationName = (name: string): name is OperationName => Object.hasOwn(adminOperations, name);

export async function runAdminOperation<N extends OperationName>(ctx: AdminContext, name: N, input: unknown): Promise<OutputOf<N>> {
  // Each entry's run takes what its own schema parsed; the map's union of types cannot say so.
  const op = adminOperations[name] as unknown as { input: z.ZodType; run(ctx: AdminContext, input: unknown): Promise<OutputOf<N>> };
  const parsed = op.input.safeParse(input ?? {});
  if (!parsed.success) throw new Refusal("invalid_input", z.prettifyError(parsed.error), 400);
  try {
    return await op.run(ctx, parsed.data);
  } catch (error) {
    if (error instanceof UrlRefused) throw new Refusal(error.code, error.message, 400);
    throw error;
  }
}
