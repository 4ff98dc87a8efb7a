import type { MessageProcessor, ProcessOutcome, ResolvedMessage } from "../../consumer/domain/message.ts";

/** Stands in for processing (covered by its own tests): records exactly what it was handed. */
export class RecordingProcessor implements MessageProcessor {
  readonly received: ResolvedMessage[] = [];
  failOn: ((message: ResolvedMessage) => Error | undefined) | undefined;

  async process(message: ResolvedMessage): Promise<ProcessOutcome> {
    const error = this.failOn?.(message);
    if (error) throw error;
    this.received.push(message);
    return { outcome: "processed", effect: "ticket", ticketId: String(this.received.length) };
  }
}
