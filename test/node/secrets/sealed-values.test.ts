// The sealed-value format and the key ring: AES-256-GCM under a named key, bound to where the
// value is stored. A changed byte, a value moved to another place, a relabelled key name, a key
// the ring lacks or the wrong key of the same name: each is refused with its own code.
import { describe, expect, it } from "vitest";
import { consumerConfig } from "../../../consumer/config.ts";
import { InletError } from "../../../consumer/domain/errors.ts";
import { censusOf, maskCredentials, openCredentials, sealCredentials } from "../../../consumer/secrets/credential-fields.ts";
import { parseKeyRing } from "../../../consumer/secrets/key-ring.ts";
import { isSealed, open, seal } from "../../../consumer/secrets/sealed.ts";
import { keyEntry, keyRing } from "../../support/secrets.ts";

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return "opened";
  } catch (error) {
    return error instanceof InletError ? error.code : `not an InletError: ${String(error)}`;
  }
};

describe("sealed values", () => {
  const ring = keyRing(keyEntry("k1"));

  it("open gives back what seal was given; each seal draws a fresh IV, so equal secrets look different", () => {
    const a = seal(ring, "s3cret-value", "mailbox:m1:clientSecret");
    const b = seal(ring, "s3cret-value", "mailbox:m1:clientSecret");
    expect(a).toMatch(/^inlet:v1:k1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("s3cret");
    expect(open(ring, a, "mailbox:m1:clientSecret")).toBe("s3cret-value");
  });

  it("a tampered ciphertext, tag or IV fails the GCM tag check", () => {
    const sealed = seal(ring, "refresh-token-value", "mailbox:m1:refreshToken");
    const [prefix, v, key, iv, body] = sealed.split(":") as [string, string, string, string, string];
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
    for (const tampered of [`${prefix}:${v}:${key}:${iv}:${flip(body, 3)}`, `${prefix}:${v}:${key}:${iv}:${flip(body, body.length - 2)}`, `${prefix}:${v}:${key}:${flip(iv, 5)}:${body}`]) {
      expect(codeOf(() => open(ring, tampered, "mailbox:m1:refreshToken"))).toBe("secrets_decrypt_failed");
    }
  });

  it("a value is bound to its place and its key name: moved to another mailbox or field, or relabelled, it does not open", () => {
    const sealed = seal(ring, "pw", "mailbox:m1:password");
    expect(codeOf(() => open(ring, sealed, "mailbox:m2:password"))).toBe("secrets_decrypt_failed");
    expect(codeOf(() => open(ring, sealed, "mailbox:m1:clientSecret"))).toBe("secrets_decrypt_failed");
    const twoKeys = keyRing(keyEntry("k2"), `k1:${ring.get("k1")!.key.toString("base64")}`);
    const relabelled = sealed.replace(":k1:", ":k2:");
    expect(codeOf(() => open(twoKeys, relabelled, "mailbox:m1:password"))).toBe("secrets_decrypt_failed");
    expect(open(twoKeys, sealed, "mailbox:m1:password")).toBe("pw");
  });

  it("no key ring, a key name the ring lacks, the wrong key under the right name: three distinct refusals", () => {
    const sealed = seal(ring, "pw", "mailbox:m1:password");
    expect(codeOf(() => open(undefined, sealed, "mailbox:m1:password"))).toBe("secrets_key_missing");
    expect(codeOf(() => open(keyRing(keyEntry("other")), sealed, "mailbox:m1:password"))).toBe("secrets_key_unknown");
    expect(codeOf(() => open(keyRing(keyEntry("k1")), sealed, "mailbox:m1:password"))).toBe("secrets_decrypt_failed");
    expect(codeOf(() => open(ring, "inlet:v1:k1:short", "mailbox:m1:password"))).toBe("secrets_malformed");
  });

  it("every secret field of a credentials object is sealed, at any depth; identifiers and env: references stay readable", () => {
    const credentials = {
      type: "imap",
      host: "outlook.office365.com",
      user: "helpdesk@contoso.example",
      password: "env:IMAP_PASSWORD",
      oauth: { provider: "microsoft", azureTenantId: "contoso", clientId: "app-id", certificate: { thumbprint: "x".repeat(27), privateKey: "-----BEGIN PRIVATE KEY-----\nMII…" } },
    };
    const sealed = sealCredentials(credentials, ring, "imap-1");
    expect(sealed.password).toBe("env:IMAP_PASSWORD");
    expect(sealed.oauth.clientId).toBe("app-id");
    expect(isSealed(sealed.oauth.certificate.privateKey)).toBe(true);
    expect(JSON.stringify(sealed)).not.toContain("BEGIN PRIVATE KEY");
    expect(censusOf(sealed)).toEqual({ plain: 0, sealed: new Map([["k1", 1]]) });
    expect(censusOf(credentials).plain).toBe(1);
    expect(openCredentials(sealed, ring, "imap-1")).toEqual(credentials);
    expect(JSON.stringify(maskCredentials(sealed))).toBe(JSON.stringify({ ...credentials, oauth: { ...credentials.oauth, certificate: { thumbprint: "x".repeat(27), privateKey: "[sealed:k1]" } } }));
  });
});

describe("INLET_SECRETS_KEY", () => {
  it("names its keys, the first seals; a bare key is named by its fingerprint", () => {
    const ring = parseKeyRing(`${keyEntry("new")}, ${keyEntry("old")}`);
    expect(ring.ids).toEqual(["new", "old"]);
    expect(ring.primary.id).toBe("new");
    const bare = parseKeyRing(Buffer.alloc(32, 7).toString("base64url"));
    expect(bare.primary.id).toMatch(/^fp-[0-9a-f]{16}$/);
    expect(consumerConfig({ INLET_SECRETS_KEY: keyEntry("only") }).secrets?.ids).toEqual(["only"]);
    expect(consumerConfig({}).secrets).toBeUndefined();
  });

  it("a malformed ring stops the start with a message that names the variable and never shows key bytes", () => {
    const short = Buffer.alloc(16, 9).toString("base64");
    for (const [value, message] of [
      [`k1:${short}`, /INLET_SECRETS_KEY: key "k1" is not a base64 32-byte key/],
      ["k1:not base64!", /INLET_SECRETS_KEY: key "k1" is not a base64 32-byte key/],
      [`${keyEntry("a")},${keyEntry("a")}`, /the key name "a" is given twice/],
      [`bad name:${Buffer.alloc(32).toString("base64")}`, /has a key name that is not 1-64 letters/],
    ] as const) {
      let error: unknown;
      try {
        consumerConfig({ INLET_SECRETS_KEY: value });
      } catch (e) {
        error = e;
      }
      expect(String(error)).toMatch(message);
      expect(String(error)).not.toContain(value.split(":")[1]!.slice(0, 8));
    }
  });
});
