// The OAuth scopes Inlet asks for: the narrowest that read mail on each path.
/** Gmail API reads (history, messages, profile, watch). */
export const GMAIL_READONLY_SCOPE = "https://www.googleapis.com/auth/gmail.readonly";
/** Gmail's IMAP accepts only tokens with full mail access. */
export const GOOGLE_IMAP_SCOPE = "https://mail.google.com/";
/** App-only Graph: the application permissions an admin consented to (Mail.Read). */
export const GRAPH_APP_SCOPE = "https://graph.microsoft.com/.default";
/** App-only Exchange Online IMAP (IMAP.AccessAsApp). */
export const OUTLOOK_IMAP_APP_SCOPE = "https://outlook.office365.com/.default";
