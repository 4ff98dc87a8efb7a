// Subjects that notification software writes, in the languages its users run it in. Every list is
// anchored at the start of the subject, so a person's "Fwd: Undeliverable: …" or "Re: Automatic
// reply: …" does not match, and a bounce or delay subject is never enough on its own (a customer
// may well write "Delivery failed" about a parcel): bounce.ts pairs it with a second signal.
// Sources: the MTAs' and clients' own templates (Exchange and Outlook in each UI language, Postfix
// bounce(8), Exim, Sendmail, qmail-send, Gmail, Domino, Courier, MDaemon, Oracle Messaging Server).

const alternation = (phrases: readonly string[]) => phrases.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/ /g, "\\s+")).join("|");

/** Notices that a message is still being retried (a delay is not a bounce; it opens no ticket). */
export const DELAY_SUBJECT_PHRASES = [
  "Delayed Mail", // Postfix: "Delayed Mail (still being retried)"
  "Delivery Status Notification (Delay)", // Gmail, Amazon SES
  "Delivery status notification: delay", // OpenSMTPD
  "Delivery delayed", // Exchange, Exchange Online, Outlook.com: "Delivery delayed:"
  "Warning: could not send message", // Sendmail: "Warning: could not send message for past 4 hours"
  "Delivery Notification: Delivery has been delayed", // Oracle/Sun Messaging Server (older iCloud)
  "Delayed delivery",
  "Delivery delay",
  "Message delayed",
  "Delivery warning",
  "Mail delivery warning",
  "Zustellung verzögert", // Exchange, German
  "Verzögerte Zustellung",
  "Remise différée", // Exchange, French
  "Remise retardée",
  "Entrega retrasada", // Exchange, Spanish
  "Recapito ritardato", // Exchange, Italian
  "Bezorging vertraagd", // Exchange, Dutch
  "Entrega atrasada", // Exchange, Portuguese
  "Leveransen är försenad", // Exchange, Swedish
  "Задержка доставки", // Russian
] as const;

// Exim: "Warning: message 1uAbcD-0004xY-2Q delayed 24 hours" names the queue id in the middle.
const EXIM_DELAY = String.raw`Warning:\s+message\s+\S+\s+delayed`;

/** Notices that delivery failed. */
export const BOUNCE_SUBJECT_PHRASES = [
  "Undeliverable", // Exchange, Exchange Online, Outlook.com: "Undeliverable: <subject>"
  "Undelivered Mail Returned to Sender", // Postfix, iCloud, Zoho
  "Undelivered Mail",
  "Mail delivery failed", // Exim, GMX, mail.ru: "Mail delivery failed: returning message to sender"
  "Mail delivery failure",
  "Message delivery has failed",
  "Delivery Status Notification", // Gmail, Amazon SES: "… (Failure)"
  "Delivery Status", // the bare form some appliances send
  "Returned mail", // Sendmail: "Returned mail: see transcript for details"
  "failure notice", // qmail-send, Yahoo: "Failure Notice"
  "Mail could not be delivered",
  "Message could not be delivered",
  "Your message could not be delivered",
  "Message not delivered",
  "Mail System Error", // "Mail System Error - Returned Mail"
  "Delivery failure", // Domino: "DELIVERY FAILURE: User … not listed in Domino Directory"
  "Delivery failed",
  "Delivery Notification: Delivery has failed", // Oracle/Sun Messaging Server (older iCloud)
  "Permanent Delivery Failure", // MDaemon
  "Message delivery failure",
  "Nondeliverable",
  "Non-deliverable",
  "Non delivery",
  "Non-delivery",
  "NOTICE: mail delivery status", // Courier
  "Unzustellbar", // Exchange, German: "Unzustellbar:"
  "Nicht zustellbar",
  "Unzustellbare Nachricht",
  "Zustellung fehlgeschlagen",
  "Fehler bei der Zustellung",
  "Benachrichtigung zum Zustellstatus", // Gmail, German
  "Non remis", // Exchange, French: "Non remis :"
  "Non distribuable",
  "Message non remis",
  "Échec de la remise",
  "Échec de remise",
  "Notification d'état de remise",
  "Mensaje no entregado",
  "No se puede entregar", // Exchange, Spanish
  "No entregado",
  "Error en la entrega",
  "Notificación de estado de entrega",
  "Non recapitabile", // Exchange, Italian
  "Mancato recapito",
  "Impossibile recapitare",
  "Notifica sullo stato di recapito",
  "Não é possível entregar", // Exchange, Portuguese
  "Mensagem não entregue",
  "Não entregue",
  "Falha na entrega",
  "Onbestelbaar", // Exchange, Dutch
  "Niet bezorgd",
  "Kan niet worden bezorgd",
  "Det gick inte att leverera", // Exchange, Swedish
  "Olevererbart",
  "Ej levererat",
  "Kan ikke leveres", // Exchange, Danish and Norwegian
  "Ikke leveret",
  "Ikke levert",
  "Uanbringelig",
  "Ei voitu toimittaa", // Exchange, Finnish
  "Niedostarczalne", // Exchange, Polish
  "Nie można dostarczyć",
  "Nedoručitelné", // Exchange, Czech
  "Kézbesíthetetlen", // Exchange, Hungarian
  "Teslim edilemiyor", // Exchange, Turkish
  "Teslim edilemedi",
  "Не доставлено", // Exchange, Russian
  "Недоставленное сообщение",
  "Не удается доставить",
  "配信不能", // Exchange, Japanese
  "配信できませんでした",
  "无法投递", // Exchange, Chinese (simplified)
  "無法傳遞", // Exchange, Chinese (traditional)
  "退信",
] as const;

/** Out-of-office and auto-reply prefixes distinctive enough to decide with a colon after them. */
export const AUTO_REPLY_SUBJECT_PHRASES = [
  "Automatic reply", // Outlook, Exchange 2010+: "Automatic reply: <subject>"
  "Auto reply", // iCloud: "Auto reply: <subject>"
  "Auto-reply",
  "Autoreply",
  "Auto response",
  "Automatic response",
  "Out of Office AutoReply", // Exchange 2003
  "Out of Office", // Exchange 2007, Outlook.com
  "Out of the Office",
  "Abwesenheitsnotiz", // HCL Notes, German
  "Automatische Antwort", // Exchange, German
  "Réponse automatique", // Exchange, French: "Réponse automatique :"
  "Réponse automatique d'absence du bureau",
  "Absence du bureau",
  "Respuesta automática", // Exchange, Spanish
  "Risposta automatica", // Exchange, Italian
  "Automatisch antwoord", // Exchange, Dutch
  "Automatisk svar", // Exchange, Danish and Norwegian
  "Automatiskt svar", // Exchange, Swedish
  "Resposta automática", // Exchange, Portuguese
  "Automaattinen vastaus", // Exchange, Finnish
  "Odpowiedź automatyczna", // Exchange, Polish
  "Automatická odpověď", // Exchange, Czech
  "Automatikus válasz", // Exchange, Hungarian
  "Otomatik yanıt", // Exchange, Turkish
  "Αυτόματη απάντηση", // Exchange, Greek
  "Автоматический ответ", // Exchange, Russian
  "自動応答", // Exchange, Japanese
  "自動返信",
  "自动回复", // Exchange, Chinese (simplified)
  "自動回覆", // Exchange, Chinese (traditional)
] as const;

/** Prefixes that are also ordinary words ("Auto: my car …", "Absent: …"): they need a second signal. */
export const WEAK_AUTO_REPLY_SUBJECT_PHRASES = [
  "Auto", // Roundcube / Sieve vacation default: "Auto: <subject>"
  "Abwesend",
  "Absent",
  "Absence",
  "Vacation",
  "Urlaub",
  "Fuera de la oficina",
  "Fuori sede",
  "Afwezig",
  "Ausente",
] as const;

// A bounce or delay phrase starts the subject and is not glued to a following letter.
const BOUNCE = new RegExp(`^\\s*(?:${alternation(BOUNCE_SUBJECT_PHRASES)})(?![\\p{L}])`, "iu");
const DELAY = new RegExp(`^\\s*(?:${alternation(DELAY_SUBJECT_PHRASES)}|${EXIM_DELAY})(?![\\p{L}])`, "iu");
// An auto-reply phrase is the whole subject, or is followed by a colon (ASCII or full-width).
const AUTO_REPLY = new RegExp(`^\\s*(?:${alternation(AUTO_REPLY_SUBJECT_PHRASES)})\\s*(?:[:：]|$)`, "iu");
const WEAK_AUTO_REPLY = new RegExp(`^\\s*(?:${alternation(WEAK_AUTO_REPLY_SUBJECT_PHRASES)})\\s*[:：]`, "iu");
// How people forward: "Fwd:", "FW:", German "WG:", French "TR:", Spanish "RV:", Dutch "Doorst:", Swedish/Norwegian "VS:", Polish "PD:".
const FORWARD = /^\s*(?:fwd?|wg|tr|rv|doorst|vs|vb|pd|enc|i)\s*:/i;

export const isDelaySubject = (subject: string) => DELAY.test(subject);
export const isBounceSubject = (subject: string) => BOUNCE.test(subject);
export const isAutoReplySubject = (subject: string) => AUTO_REPLY.test(subject);
export const isWeakAutoReplySubject = (subject: string) => WEAK_AUTO_REPLY.test(subject);
export const isForwardSubject = (subject: string) => FORWARD.test(subject);
