// A name for an attachment that has none, or an empty one (`filename="=?utf-8?b??="`): named for
// what it is, so an agent sees `delivery-status.txt` or `message.eml` rather than a blank.
// Report parts are named after their report (RFC 3464, 5965, 8098); other parts get a counter and
// the usual extension of their type.

const REPORT_PART_NAMES: Record<string, string> = {
  "message/rfc822": "message.eml",
  "message/global": "message.eml",
  "message/delivery-status": "delivery-status.txt",
  "message/global-delivery-status": "delivery-status.txt",
  "text/rfc822-headers": "headers.txt",
  "message/global-headers": "headers.txt",
  "message/feedback-report": "feedback-report.txt",
  "message/disposition-notification": "disposition-notification.txt",
};

const EXTENSIONS: Record<string, string> = {
  "application/pdf": ".pdf",
  "application/zip": ".zip",
  "application/json": ".json",
  "application/xml": ".xml",
  "application/ms-tnef": ".dat",
  "application/vnd.ms-tnef": ".dat",
  "application/msword": ".doc",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
  "application/vnd.ms-excel": ".xls",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
  "application/pgp-signature": ".asc",
  "application/pkcs7-signature": ".p7s",
  "application/x-pkcs7-signature": ".p7s",
  "image/png": ".png",
  "image/jpeg": ".jpg",
  "image/gif": ".gif",
  "image/webp": ".webp",
  "image/svg+xml": ".svg",
  "image/bmp": ".bmp",
  "image/tiff": ".tif",
  "text/plain": ".txt",
  "text/html": ".html",
  "text/csv": ".csv",
  "text/calendar": ".ics",
  "text/vcard": ".vcf",
  "text/x-vcard": ".vcf",
  "audio/mpeg": ".mp3",
  "video/mp4": ".mp4",
};

/** Names for unnamed parts, unique within one message (`message.eml`, `message-2.eml`). */
export function fallbackNamer(): (contentType: string, index: number) => string {
  const used = new Set<string>();
  return (contentType, index) => {
    const type = contentType.toLowerCase();
    const first = REPORT_PART_NAMES[type] ?? `attachment-${index + 1}${EXTENSIONS[type] ?? ""}`;
    const dot = first.lastIndexOf(".");
    const [stem, extension] = dot > 0 ? [first.slice(0, dot), first.slice(dot)] : [first, ""];
    let name = first;
    for (let n = 2; used.has(name); n++) name = `${stem}-${n}${extension}`;
    used.add(name);
    return name;
  };
}
