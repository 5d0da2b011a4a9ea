/**
 * The token check: `Authorization: Bearer TOKEN` or `?token=TOKEN`. Both sides are hashed before a
 * constant-time comparison, so a wrong token and a missing one take the same time whatever their
 * length, and the token never appears in a log or an error.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

export function tokenChecker(token: string | undefined): (request: IncomingMessage, url: URL) => boolean {
  if (token === undefined) return () => true;
  const expected = digest(token);
  return (request, url) => {
    const header = request.headers.authorization;
    const given = header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : (url.searchParams.get("token") ?? "");
    return timingSafeEqual(digest(given), expected);
  };
}
