// A local JWKS endpoint with a freshly generated RSA key, standing in for Google's (and
// Microsoft identity's) key servers. Tests sign real RS256 tokens with the private half.
import { createServer } from "node:http";
import { exportJWK, generateKeyPair, type JWK } from "jose";

export interface JwksServer {
  url: string;
  kid: string;
  privateJwk: JWK;
  /** A key the server does not publish: tokens signed with it carry an unknown kid. */
  unknownPrivateJwk: JWK;
  requests: () => number;
  close(): Promise<void>;
}

async function rsaKey(kid: string): Promise<{ publicJwk: JWK; privateJwk: JWK }> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: "RS256" };
  return { publicJwk, privateJwk };
}

export async function startJwksServer(port = 0): Promise<JwksServer> {
  const kid = `test-key-${Date.now().toString(36)}`;
  const key = await rsaKey(kid);
  const unknown = await rsaKey(`${kid}-unpublished`);
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    if (req.url?.startsWith("/jwks") || req.url?.startsWith("/oauth2/v3/certs")) {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=3600" });
      res.end(JSON.stringify({ keys: [key.publicJwk] }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address();
  const actual = typeof address === "object" && address ? address.port : port;
  return {
    url: `http://127.0.0.1:${actual}/jwks`,
    kid,
    privateJwk: key.privateJwk,
    unknownPrivateJwk: unknown.privateJwk,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
