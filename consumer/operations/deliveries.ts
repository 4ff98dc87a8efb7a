// What the console and the metrics need of webhook delivery, as an interface: the delivery module
// (outbox, `inlet webhooks …`) implements it, and the HTTP app takes it as an optional part. Absent,
// the console's deliveries page says webhook delivery is not configured and the metrics leave
// the webhook series out.

export interface DeliveryRecord {
  id: string;
  /** The event's type (ticket.created, ticket.replied, …) and id (the webhook-id header). */
  eventType: string;
  eventId: string;
  /** Where it goes (the endpoint's URL; never its secret). */
  url: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  lastError?: string;
  /** ISO times. */
  createdAt: string;
  lastAttemptAt?: string;
}

export interface DeliveryCounts {
  /** Waiting to be delivered (new or between retries). */
  pending: number;
  /** Given up on, waiting to be redelivered. */
  failed: number;
}

export interface DeliveryOperations {
  /** Newest first. */
  list(options: { failedOnly: boolean; limit: number }): Promise<DeliveryRecord[]>;
  /** Deliver again; false when there is no delivery with this id. */
  redeliver(id: string): Promise<boolean>;
  /** Deliver every failed delivery again; how many. */
  redeliverAllFailed(): Promise<number>;
  counts(): Promise<DeliveryCounts>;
}
