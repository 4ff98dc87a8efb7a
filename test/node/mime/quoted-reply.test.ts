import { describe, expect, it } from "vitest";
import { stripQuotedReply } from "../../../consumer/mime/quoted-reply.ts";

describe("quoted-reply stripping", () => {
  it("does not cut at a bare underscore or dashes line that no quoted header follows", () => {
    const text = "Steps so far:\n____________________\n1. Restarted the router\n2. Checked the cable\n----------\nStill no signal.";
    expect(stripQuotedReply(text)).toBe(text);
  });

  it("cuts at an Outlook separator followed by a header block, and drops the trailing separator", () => {
    const text = "Works now, thanks.\n\n________________________________\nFrom: Helpdesk <support@helpdesk.example>\nSent: Tuesday, March 3, 2026 10:00 AM\nTo: Ann <ann@x.example>\nSubject: [#4] VPN\n\nPlease try again.";
    expect(stripQuotedReply(text)).toBe("Works now, thanks.");
  });

  it("keeps the full text when what is left is only punctuation or a separator", () => {
    const text = "--\n\n-----Original Message-----\nFrom: Helpdesk <support@helpdesk.example>\nSent: Tuesday, March 3, 2026 10:00 AM\nSubject: x\n\nbody";
    expect(stripQuotedReply(text)).toBe(text);
    expect(stripQuotedReply("...\n\nOn Tue, 3 Mar 2026 at 10:00, Desk <d@x> wrote:\n> hello")).toBe("...\n\nOn Tue, 3 Mar 2026 at 10:00, Desk <d@x> wrote:\n> hello");
  });

  it("recognises Lotus Notes header blocks with no space after the colon", () => {
    const text = 'Bitte dringend prüfen.\n\n\n\nVon:"Helpdesk" <support@helpdesk.example>\nAn:"Hans Weber" <hans@x.example>\nDatum:03.03.2026 10:15\nBetreff:[#7] Drucker\n\nWir prüfen das.';
    expect(stripQuotedReply(text)).toBe("Bitte dringend prüfen.");
    const aligned = "Danke.\n\nVon:        Helpdesk <support@helpdesk.example>\nAn:        hans@x.example\nDatum:        03.03.2026 10:15\nBetreff:        Drucker";
    expect(stripQuotedReply(aligned)).toBe("Danke.");
    expect(stripQuotedReply('Erledigt.\n\n"Helpdesk" <support@helpdesk.example> schrieb am 03.03.2026 10:15:00:\n\n> Wir prüfen das.')).toBe("Erledigt.");
  });

  it("keeps the reply text of an interleaved reply, cutting only the quoted tail", () => {
    const text = "See my answers inline.\n\nOn Tue, 3 Mar 2026 at 10:00, Desk <support@helpdesk.example> wrote:\n> Which model is it?\nHP LaserJet M404.\n> Since when?\nSince Monday.\n>\n> Regards, Desk";
    expect(stripQuotedReply(text)).toBe("See my answers inline.\n\nOn Tue, 3 Mar 2026 at 10:00, Desk <support@helpdesk.example> wrote:\n> Which model is it?\nHP LaserJet M404.\n> Since when?\nSince Monday.");
    expect(stripQuotedReply("> Is it fixed?\nYes, since the update.")).toBe("> Is it fixed?\nYes, since the update.");
  });

  it("still cuts a top-posted reply at its attribution", () => {
    expect(stripQuotedReply("Thanks!\n\nOn Tue, 3 Mar 2026 at 10:00, Desk <d@x> wrote:\n> Fixed.\n> Desk")).toBe("Thanks!");
  });
});
