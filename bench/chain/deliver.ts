// The load generator: offer() paces mail at a steady rate, and a Deliverer delivers each mail the
// way its provider does and announces it: Graph stores the message and sends its change
// notification, Gmail stores it and Pub/Sub pushes {emailAddress, historyId} with a signed OIDC
// token, IMAP mail is APPENDed to Dovecot (the consumer's IMAP listener announces it). A share of
// Graph and Gmail notifications is dropped on purpose (the sweep must find those mails). A
// notification the edge answers with a 5xx, or cannot take at all, is sent again later, as Graph
// and Pub/Sub retry with backoff; one that keeps failing is left to the sweep and counted.
import { pushGmailNotification, signPushToken } from "../../dev/fakes/pubsub.ts";
import { sleep } from "./child.ts";
import { random, type PlannedMail, type ProviderKind } from "./mail-plan.ts";
import { MAILBOXES, type ChainStack } from "./stack.ts";

export interface DeliveryStats {
  delivered: Record<ProviderKind, number>;
  /** Notifications not sent on purpose (Graph's fake drops its share itself). */
  droppedGmail: number;
  droppedGraph: number;
  /** Notifications sent again after a 5xx or a refused connection, and those given up on. */
  resent: number;
  givenUp: number;
}

export interface Delivered {
  /** When the provider announced it (Graph, Gmail: the notification was about to be sent). */
  announcedAt: number | undefined;
  /** The provider's id: Graph immutable id, Gmail message id, IMAP UID. */
  providerMessageId: string;
}

export interface DelivererOptions {
  /** Share (0 to 1) of Graph and Gmail notifications not sent. */
  dropShare: number;
  /** When false, mail is stored at the provider without any notification (the baseline fetches it). */
  notify?: boolean;
  seed: number;
  /** Waits before each resend of a failed notification. */
  resendDelaysMs?: readonly number[];
}

export class Deliverer {
  readonly stats: DeliveryStats = { delivered: { microsoft: 0, google: 0, imap: 0 }, droppedGmail: 0, droppedGraph: 0, resent: 0, givenUp: 0 };
  readonly #stack: ChainStack;
  readonly #o: Required<DelivererOptions>;
  readonly #rnd: () => number;
  readonly #resends = new Set<Promise<void>>();
  #imapQueue: Promise<unknown> = Promise.resolve();
  /** The push token, reused for a few minutes as a push sender may (the edge verifies each push alike). */
  #token: { value: Promise<string>; until: number } | undefined;

  constructor(stack: ChainStack, options: DelivererOptions) {
    this.#stack = stack;
    this.#o = { notify: true, resendDelaysMs: [500, 1000, 2000, 4000, 8000], ...options };
    this.#rnd = random(options.seed ^ 0x5eed);
    stack.graph.dropNotifications = this.#o.notify ? options.dropShare : 0;
  }

  /** `raw` when the mail was built ahead (so building it is not part of a timed offer). */
  async deliver(mail: PlannedMail, raw: Uint8Array = mail.raw()): Promise<Delivered> {
    this.stats.delivered[mail.provider]++;
    if (mail.provider === "microsoft") return this.#graph(mail, raw);
    if (mail.provider === "google") return this.#gmail(raw);
    return this.#imap(raw);
  }

  /** Resolves when no resend is pending. */
  async settled(): Promise<void> {
    while (this.#resends.size > 0) await Promise.all([...this.#resends]);
    await this.#imapQueue.catch(() => undefined);
  }

  async #graph(mail: PlannedMail, raw: Uint8Array): Promise<Delivered> {
    const { graph } = this.#stack;
    const id = graph.addMessage(MAILBOXES.microsoft.mailbox, raw);
    if (mail.poisoned) graph.faults.set(`message:${id}`, { status: 500 });
    if (!this.#o.notify) return { announcedAt: undefined, providerMessageId: id };
    const announcedAt = Date.now();
    const send = async () => {
      const statuses = await graph.notify(MAILBOXES.microsoft.mailbox, id);
      return statuses.every((s) => s < 500);
    };
    await this.#sendOrResend(send);
    this.stats.droppedGraph = graph.droppedNotifications();
    return { announcedAt, providerMessageId: id };
  }

  async #gmail(raw: Uint8Array): Promise<Delivered> {
    const { gmail, push } = this.#stack;
    const { id, historyId } = gmail.addMessage(MAILBOXES.google.address, raw);
    if (!this.#o.notify) return { announcedAt: undefined, providerMessageId: id };
    const announcedAt = Date.now();
    if (this.#rnd() < this.#o.dropShare) {
      this.stats.droppedGmail++;
      return { announcedAt, providerMessageId: id };
    }
    if (!this.#token || this.#token.until < Date.now()) this.#token = { value: signPushToken(push), until: Date.now() + 5 * 60_000 };
    const token = await this.#token.value;
    await this.#sendOrResend(async () => (await pushGmailNotification(push.endpoint, push, { emailAddress: MAILBOXES.google.address, historyId }, { token })) < 500);
    return { announcedAt, providerMessageId: id };
  }

  #imap(raw: Uint8Array): Promise<Delivered> {
    // One APPEND at a time on the session, in plan order.
    const appended = this.#imapQueue.then(async () => {
      const result = await this.#stack.imapClient.append("INBOX", Buffer.from(raw));
      if (!result || result.uid === undefined) throw new Error("Dovecot did not report the appended UID");
      return { announcedAt: undefined, providerMessageId: String(result.uid) };
    });
    this.#imapQueue = appended.catch(() => undefined);
    return appended;
  }

  /** Send now; when the edge refuses (5xx) or is unreachable, send again later in the background. */
  async #sendOrResend(send: () => Promise<boolean>): Promise<void> {
    if (await send().catch(() => false)) return;
    const retry = (async () => {
      for (const delay of this.#o.resendDelaysMs) {
        await sleep(delay);
        this.stats.resent++;
        if (await send().catch(() => false)) return;
      }
      this.stats.givenUp++;
    })();
    this.#resends.add(retry);
    void retry.finally(() => this.#resends.delete(retry));
  }
}

/** Delivers the k-th mail k / rate seconds after t0, at most 64 deliveries in flight. */
export async function offer(plan: readonly PlannedMail[], rate: number, t0: number, deliver: (mail: PlannedMail) => Promise<unknown>): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  let failure: unknown;
  for (const [k, mail] of plan.entries()) {
    const due = t0 + (k / rate) * 1000 - Date.now();
    if (due > 0) await sleep(due);
    while (inFlight.size >= 64) await Promise.race(inFlight);
    if (failure) throw failure;
    const p = deliver(mail).catch((error: unknown) => (failure = error));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
}
