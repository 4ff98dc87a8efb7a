// Conversations for the delivery runs: `conversations` tickets of `perConversation` messages each
// (a new ticket, then replies each answering the one before), sent in rounds (message k of every
// conversation, then message k + 1), so a reply is applied well after its parent.
import { buildMail } from "../../test/support/mail.ts";

export interface PlannedMail {
  conversation: number;
  index: number;
  messageId: string;
  raw: Uint8Array;
}

export function conversationPlan(mails: number, perConversation: number, label: string): PlannedMail[] {
  const conversations = Math.ceil(mails / perConversation);
  const plan: PlannedMail[] = [];
  for (let k = 0; k < perConversation; k++) {
    for (let c = 0; c < conversations && plan.length < mails; c++) {
      const messageId = `${label}-${c}-${k}@bench.example`;
      const parent = k > 0 ? `${label}-${c}-${k - 1}@bench.example` : undefined;
      plan.push({ conversation: c, index: k, messageId, raw: buildMail({ id: messageId, subject: k === 0 ? `Conversation ${c}` : `Re: Conversation ${c}`, body: `Message ${k} of conversation ${c}.`, ...(parent ? { inReplyTo: parent, references: [parent] } : {}) }) });
    }
  }
  return plan;
}

/** The chain plan's seeded generator: the same faults for the same seed. */
export { random as seeded } from "../chain/mail-plan.ts";
