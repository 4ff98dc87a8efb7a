// A stand-in for the Worker's Graph endpoint where only the validation handshake matters: Graph
// validates a subscription's notification URLs when it creates one (POST ?validationToken= must
// echo the token as text/plain), so a local subscription needs something that answers it.
import { createServer } from "node:http";

export async function startValidationPeer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const token = new URL(req.url ?? "/", "http://x").searchParams.get("validationToken");
    res.writeHead(token ? 200 : 202, { "content-type": "text/plain" }).end(token ?? "");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
