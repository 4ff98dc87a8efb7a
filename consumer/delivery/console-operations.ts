// The delivery operations as the console and the metrics see them (consumer/operations/deliveries.ts):
// the same functions `inlet webhooks deliveries|redeliver` run.
import type { DeliveryOperations, DeliveryRecord } from "../operations/deliveries.ts";
import type { Queryable } from "../store/db.ts";
import { Refusal } from "./refusal.ts";
import { deliveryCounts, listDeliveries, redeliver, redeliverAllFailed, type DeliveryRow } from "./operations.ts";

const record = (row: DeliveryRow): DeliveryRecord => ({
  id: String(row.id),
  eventType: row.type,
  eventId: row.eventId,
  url: row.url,
  status: row.status,
  attempts: row.attempts,
  ...(row.lastError ? { lastError: row.lastError } : row.lastStatus ? { lastError: `HTTP ${row.lastStatus}` } : {}),
  createdAt: row.createdAt,
  ...(row.deliveredAt ? { lastAttemptAt: row.deliveredAt } : {}),
});

export function deliveryOperations(db: Queryable): DeliveryOperations {
  return {
    list: async ({ failedOnly, limit }) => (await listDeliveries(db, { failedOnly, limit })).map(record),
    async redeliver(id) {
      if (!/^\d{1,18}$/.test(id)) return false;
      try {
        await redeliver(db, Number(id));
        return true;
      } catch (error) {
        if (error instanceof Refusal && error.code === "delivery_not_found") return false;
        throw error;
      }
    },
    redeliverAllFailed: () => redeliverAllFailed(db),
    async counts() {
      const { backlog, failed } = await deliveryCounts(db);
      return { pending: backlog, failed };
    },
  };
}
