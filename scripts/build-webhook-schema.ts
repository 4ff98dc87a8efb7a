// Writes docs/webhook-event.schema.json from consumer/delivery/payload-schema.ts.
import { writeFileSync } from "node:fs";
import { eventPayloadJsonSchema } from "../consumer/delivery/payload-schema.ts";

export const SCHEMA_FILE = new URL("../docs/webhook-event.schema.json", import.meta.url);
export const schemaText = () => `${JSON.stringify(eventPayloadJsonSchema(), null, 2)}\n`;

if (import.meta.url === `file://${process.argv[1]}`) writeFileSync(SCHEMA_FILE, schemaText());
