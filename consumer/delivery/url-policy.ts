// Where webhooks may go. An endpoint URL must be https; plain http only to a loopback host and
// only with INLET_ALLOW_INSECURE_WEBHOOKS=1 (local receivers). Every address the host resolves to
// is checked at each attempt, and the request goes to the address that was checked (no second
// lookup a DNS rebinding could answer differently): loopback, private (RFC 1918, unique local,
// CGNAT), link-local (the cloud metadata service at 169.254.169.254), unspecified, multicast and
// reserved ranges are refused unless INLET_WEBHOOK_ALLOW_PRIVATE=1; loopback is also allowed by
// INLET_ALLOW_INSECURE_WEBHOOKS=1.
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

export interface UrlPolicy {
  /** INLET_ALLOW_INSECURE_WEBHOOKS: http to loopback hosts, and loopback addresses. */
  allowInsecureLoopback: boolean;
  /** INLET_WEBHOOK_ALLOW_PRIVATE: private and link-local addresses too. */
  allowPrivateAddresses: boolean;
}

export class UrlRefused extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

const internal = new BlockList();
for (const [net, bits] of [["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["169.254.0.0", 16], ["172.16.0.0", 12], ["192.0.0.0", 24], ["192.0.2.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["198.51.100.0", 24], ["203.0.113.0", 24], ["224.0.0.0", 4], ["240.0.0.0", 4]] as const) internal.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [["::", 128], ["fc00::", 7], ["fe80::", 10], ["ff00::", 8], ["64:ff9b::", 96], ["2001:db8::", 32]] as const) internal.addSubnet(net, bits, "ipv6");

/** An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is checked as the IPv4 address it carries. */
function normalise(address: string): { address: string; family: "ipv4" | "ipv6" } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { address: mapped[1]!, family: "ipv4" };
  return { address, family: isIP(address) === 6 ? "ipv6" : "ipv4" };
}

export function addressClass(address: string): "loopback" | "internal" | "public" {
  const { address: a, family } = normalise(address);
  if (loopback.check(a, family)) return "loopback";
  if (internal.check(a, family)) return "internal";
  return "public";
}

const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, "");

/** The URL's shape (at `webhooks add` and at each attempt): https, or http to loopback when allowed. */
export function checkUrlShape(raw: string, policy: UrlPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UrlRefused("webhook_url_invalid", `${JSON.stringify(raw)} is not a URL`);
  }
  if (url.username || url.password) throw new UrlRefused("webhook_url_credentials", "the URL may not carry a user name or password");
  const host = hostOf(url);
  const isLoopbackHost = host === "localhost" || (isIP(host) !== 0 && addressClass(host) === "loopback");
  if (url.protocol === "http:") {
    if (!policy.allowInsecureLoopback) throw new UrlRefused("webhook_url_insecure", "webhook URLs must be https (http is allowed only for loopback hosts with INLET_ALLOW_INSECURE_WEBHOOKS=1)");
    if (!isLoopbackHost) throw new UrlRefused("webhook_url_insecure", `http is allowed only for loopback hosts, not ${host}: use https`);
  } else if (url.protocol !== "https:") {
    throw new UrlRefused("webhook_url_invalid", `webhook URLs must be https, not ${url.protocol}`);
  }
  if (isIP(host) !== 0) checkAddress(host, policy);
  return url;
}

function checkAddress(address: string, policy: UrlPolicy): void {
  const kind = addressClass(address);
  if (kind === "public" || policy.allowPrivateAddresses) return;
  if (kind === "loopback" && policy.allowInsecureLoopback) return;
  throw new UrlRefused("webhook_address_refused", `the endpoint's host resolves to ${address}, a ${kind === "loopback" ? "loopback" : "private, link-local or reserved"} address (INLET_WEBHOOK_ALLOW_PRIVATE=1 allows it)`);
}

/** The address to connect to: the host's addresses, each checked (one refused refuses the URL). */
export async function resolveChecked(url: URL, policy: UrlPolicy): Promise<{ address: string; family: 4 | 6 }> {
  const host = hostOf(url);
  if (isIP(host) !== 0) {
    checkAddress(host, policy);
    return { address: host, family: isIP(host) as 4 | 6 };
  }
  let addresses: { address: string; family: number }[];
  try {
    addresses = await lookup(host, { all: true, verbatim: true });
  } catch (error) {
    throw new UrlRefused("webhook_dns_failed", `${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? "lookup failed"})`);
  }
  if (addresses.length === 0) throw new UrlRefused("webhook_dns_failed", `${host} has no address`);
  for (const a of addresses) checkAddress(a.address, policy);
  const first = addresses[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}
