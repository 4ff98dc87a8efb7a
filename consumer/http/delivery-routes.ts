// Delivery's part of the HTTP server: the read API (/v1) and the operator's admin endpoints
// (/admin/delivery).
import { Hono } from "hono";
import type { AdminContext } from "../delivery/admin-operations.ts";
import type { RenderOptions } from "../delivery/payload.ts";
import { adminRoutes } from "./admin.ts";
import { readApiRoutes } from "./read-api.ts";

export interface DeliveryRoutesOptions {
  admin: AdminContext;
  adminToken: string | undefined;
  render: RenderOptions;
}

export function deliveryRoutes(o: DeliveryRoutesOptions): Hono {
  const app = new Hono();
  app.route("/", adminRoutes(o.admin, o.adminToken));
  app.route("/", readApiRoutes({ db: o.admin.db, render: o.render, adminToken: o.adminToken }));
  return app;
}
