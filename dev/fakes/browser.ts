// Plays the user's browser for the local consent flows (tests and `inlet demo`): follows an
// authorization URL through the identity provider's redirects to wherever it sends the user,
// the loopback listener of `inlet providers connect` in the end.
/** The final response, after following every redirect (at most `maxRedirects`). */
export async function followAsBrowser(url: string, maxRedirects = 5): Promise<{ status: number; url: string; body: string }> {
  let current = url;
  for (let i = 0; i <= maxRedirects; i++) {
    const response = await fetch(current, { redirect: "manual" });
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      current = new URL(location, current).toString();
      continue;
    }
    return { status: response.status, url: current, body: await response.text() };
  }
  throw new Error(`too many redirects from ${url}`);
}
