import { describe, expect, it } from "vitest";
import { parseAuthenticationResults } from "../../../consumer/mime/authentication-results.ts";
import { checkSender } from "../../../consumer/mime/sender-check.ts";

const headers = (...values: string[]) => new Map([["authentication-results", values]]);
const GMAIL_FAIL = "mx.google.com;\n       dkim=neutral (no key) header.i=@bank.example;\n       spf=fail (google.com: domain of ceo@bank.example does not designate 203.0.113.9 as permitted sender) smtp.mailfrom=ceo@bank.example;\n       dmarc=fail (p=REJECT sp=REJECT dis=QUARANTINE) header.from=bank.example";
const MICROSOFT_FAIL = "spf=fail (sender IP is 203.0.113.9)\n smtp.mailfrom=bank.example; dkim=none (message not signed)\n header.d=none;dmarc=fail action=quarantine\n header.from=bank.example;compauth=fail reason=000";
const FORGED_PASS = "mx.google.com; dkim=pass header.i=@bank.example; spf=pass smtp.mailfrom=bank.example; dmarc=pass header.from=bank.example";

describe("Authentication-Results parsing (RFC 8601)", () => {
  it("reads the authserv-id, each method's result, reason and properties, ignoring nested comments", () => {
    expect(parseAuthenticationResults('mx.example.net 1; spf=pass (mx.example.net: (nested; a=b) ok) smtp.mailfrom=a@x.example; dkim=fail reason="bad signature; really" header.d=x.example header.s=s1; dmarc=pass header.from=x.example')).toEqual({
      authservId: "mx.example.net",
      results: [
        { method: "spf", result: "pass", reason: undefined, properties: { "smtp.mailfrom": "a@x.example" } },
        { method: "dkim", result: "fail", reason: "bad signature; really", properties: { "header.d": "x.example", "header.s": "s1" } },
        { method: "dmarc", result: "pass", reason: undefined, properties: { "header.from": "x.example" } },
      ],
    });
  });

  it("reads Microsoft 365's stamp, which has no authserv-id, and skips older Exchange Online's bare domain segments", () => {
    expect(parseAuthenticationResults(MICROSOFT_FAIL)).toMatchObject({ authservId: undefined, results: [{ method: "spf", result: "fail" }, { method: "dkim", result: "none" }, { method: "dmarc", result: "fail", properties: { action: "quarantine", "header.from": "bank.example" } }, { method: "compauth", result: "fail", reason: "000" }] });
    expect(parseAuthenticationResults("spf=pass (sender IP is 198.51.100.7) smtp.mailfrom=x.example; contoso.com; dkim=pass (signature was verified) header.d=x.example;contoso.com; dmarc=pass action=none header.from=x.example;").results.map((r) => `${r.method}=${r.result}`)).toEqual(["spf=pass", "dkim=pass", "dmarc=pass"]);
    expect(parseAuthenticationResults("mx.example.net; none")).toEqual({ authservId: "mx.example.net", results: [] });
  });
});

describe("checking the sender", () => {
  it("dmarc=fail in the provider's own stamp is suspicious, with the reason", () => {
    expect(checkSender(headers(GMAIL_FAIL), { provider: "google" })).toMatchObject({ suspicious: true, reason: "dmarc=fail header.from=bank.example", authentication: { authservId: "mx.google.com", dmarc: "fail", spf: "fail", dkim: ["neutral"] } });
    expect(checkSender(headers(MICROSOFT_FAIL), { provider: "microsoft" })).toMatchObject({ suspicious: true, reason: "dmarc=fail header.from=bank.example" });
  });

  it("spf=fail is suspicious only when no DKIM signature passed", () => {
    expect(checkSender(headers("mx.example.net; spf=fail smtp.mailfrom=a@x.example; dkim=none"), { provider: "imap", trustedAuthservIds: ["mx.example.net"] })).toMatchObject({ suspicious: true, reason: "spf=fail smtp.mailfrom=a@x.example, no dkim=pass" });
    expect(checkSender(headers("mx.example.net; spf=fail smtp.mailfrom=a@x.example; dkim=pass header.d=x.example"), { provider: "imap", trustedAuthservIds: ["mx.example.net"] })).toMatchObject({ suspicious: false });
  });

  it("believes only the topmost stamp of the provider's own server: a forged one below or from elsewhere is ignored", () => {
    // The real stamp is prepended above whatever the sender wrote.
    expect(checkSender(headers(GMAIL_FAIL, FORGED_PASS), { provider: "google" }).suspicious).toBe(true);
    // A Gmail-style stamp means nothing on a Microsoft 365 mailbox, nor on IMAP without configuration.
    expect(checkSender(headers(GMAIL_FAIL), { provider: "microsoft" })).toEqual({ authentication: undefined, suspicious: false, reason: undefined });
    expect(checkSender(headers(GMAIL_FAIL), { provider: "imap" }).suspicious).toBe(false);
    expect(checkSender(headers(GMAIL_FAIL), { provider: "imap", trustedAuthservIds: ["mx.google.com"] }).suspicious).toBe(true);
    // On IMAP a header naming an untrusted server is skipped in favour of the trusted one further down.
    expect(checkSender(headers("evil.example; dmarc=pass", "mx.example.net; dmarc=fail header.from=x.example"), { provider: "imap", trustedAuthservIds: ["mx.example.net"] }).suspicious).toBe(true);
  });

  it("a passing or missing stamp is not suspicious", () => {
    expect(checkSender(headers(FORGED_PASS), { provider: "google" })).toMatchObject({ suspicious: false, authentication: { dmarc: "pass" } });
    expect(checkSender(new Map(), { provider: "google" })).toEqual({ authentication: undefined, suspicious: false, reason: undefined });
  });
});
