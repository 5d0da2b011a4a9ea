/**
 * Request paths to pool names and store keys, refusing anything that could reach outside the served
 * pools: each "/"-separated segment is percent-decoded on its own, and a segment that decodes to
 * "", ".", "..", or holds "/", "\" or NUL (encoded slashes, traversal, absolute paths) is refused.
 */
export class BadPathError extends Error {}

/** The decoded segments of `path` (the part of the URL path after a route prefix). */
export function pathSegments(path: string): string[] {
  if (path === "") return [];
  return path.split("/").map((raw) => {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      throw new BadPathError(`the path segment ${JSON.stringify(raw)} is not valid percent-encoding`);
    }
    if (segment === "" || segment === "." || segment === "..") throw new BadPathError(`the path has an empty, "." or ".." segment`);
    if (/[/\\\0]/.test(segment)) throw new BadPathError(`the path segment ${JSON.stringify(raw)} holds "/", "\\" or NUL once decoded`);
    return segment;
  });
}

/** A route's rest of path: "" or segments without a trailing "/" (a trailing "/" is allowed and dropped). */
export function restOf(pathname: string, prefix: string): string {
  const rest = pathname.slice(prefix.length);
  return rest.endsWith("/") ? rest.slice(0, -1) : rest;
}
