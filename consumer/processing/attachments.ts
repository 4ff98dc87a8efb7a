// The per-attachment size limit: what is kept, and the note that names what was dropped.
import type { ParsedAttachment } from "../mime/parse.ts";

export function splitAttachments(attachments: readonly ParsedAttachment[], maxBytes: number): { kept: ParsedAttachment[]; dropped: ParsedAttachment[] } {
  return { kept: attachments.filter((a) => a.size <= maxBytes), dropped: attachments.filter((a) => a.size > maxBytes) };
}

export function droppedAttachmentsNote(dropped: readonly ParsedAttachment[], maxBytes: number): string | undefined {
  if (dropped.length === 0) return undefined;
  return `Attachments not stored (over ${formatBytes(maxBytes)} each): ${dropped.map((a) => `${a.filename} (${formatBytes(a.size)})`).join(", ")}`;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1).replace(/\.0$/, "")} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1).replace(/\.0$/, "")} KB`;
  return `${n} bytes`;
}
