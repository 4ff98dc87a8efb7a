import type { ResolvedMessage } from "../domain/message.ts";

/** What a bounded download gives processing: the bytes, or the size that stopped it. */
export function fetched(body: { bytes: Uint8Array } | { tooLarge: number }): Pick<ResolvedMessage, "raw" | "oversizedBytes"> {
  return "bytes" in body ? { raw: body.bytes } : { raw: new Uint8Array(0), oversizedBytes: body.tooLarge };
}
