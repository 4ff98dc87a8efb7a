// What a delivery status report says happened (RFC 3464 2.3.3): per recipient an Action of failed,
// delayed, delivered, relayed or expanded, and a Status code whose class is 5 (permanent failure),
// 4 (persistent transient failure, still retried) or 2 (success). A report that names no Action
// (some Exchange and appliance reports) is read from its Status classes.
import type { ReportPart } from "../parse.ts";

export type DeliveryOutcome = "failed" | "delayed" | "delivered";

const DELIVERY_STATUS_TYPES = new Set(["message/delivery-status", "message/global-delivery-status"]);

export function deliveryReports(reports: readonly ReportPart[]): ReportPart[] {
  return reports.filter((r) => DELIVERY_STATUS_TYPES.has(r.contentType));
}

/** The worst outcome any recipient had, or undefined when the reports say nothing readable. */
export function deliveryOutcome(reports: readonly ReportPart[]): DeliveryOutcome | undefined {
  const actions = new Set<string>();
  const classes = new Set<string>();
  for (const report of reports) {
    for (const match of report.text.matchAll(/^action\s*:\s*([a-z]+)/gim)) actions.add(match[1]!.toLowerCase());
    for (const match of report.text.matchAll(/^status\s*:\s*([245])\.\d{1,3}\.\d{1,3}/gim)) classes.add(match[1]!);
  }
  if (actions.has("failed") || (actions.size === 0 && classes.has("5"))) return "failed";
  if (actions.has("delayed") || (actions.size === 0 && classes.has("4"))) return "delayed";
  if (actions.size > 0 || classes.has("2")) return "delivered";
  return undefined;
}
