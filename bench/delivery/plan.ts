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

/** A small seeded generator (mulberry32): the same faults for the same seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
