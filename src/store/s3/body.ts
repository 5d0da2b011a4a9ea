/**
 * Request and response bodies that report progress, so that an attempt's idle timeout (request.ts)
 * restarts while bytes move and fires only when a transfer stalls. Shared by both transports.
 */
import { Readable } from "node:stream";

/**
 * Upload slice: small enough that a slow upload reports progress often, big enough to cost nothing
 * (measured: 64 KiB slices cost a 1 MiB PUT ~35 % more client CPU than one write; 256 KiB, nothing
 * measurable).
 */
const UPLOAD_SLICE = 256 * 1024;

/**
 * The body of a PUT: small bodies as one Buffer; larger ones as a stream of views of `bytes` (no
 * copy), each pulled when the socket has taken the previous one, which is when progress is reported.
 */
export function uploadBody(bytes: Uint8Array, progress: () => void): Buffer | Readable {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length <= UPLOAD_SLICE) return buffer;
  let offset = 0;
  return new Readable({
    highWaterMark: UPLOAD_SLICE,
    read() {
      progress();
      if (offset >= buffer.length) {
        this.push(null);
        return;
      }
      const end = Math.min(offset + UPLOAD_SLICE, buffer.length);
      this.push(buffer.subarray(offset, end));
      offset = end;
    },
  });
}

/**
 * A response body read whole, reporting progress per chunk. With a known length the bytes land in
 * one preallocated buffer; the stream is destroyed if `signal` fires, so its socket is released.
 */
export async function readBody(
  body: AsyncIterable<Uint8Array> & { destroy?: (error?: Error) => void },
  contentLength: number | undefined,
  progress: () => void,
  signal: AbortSignal,
  into?: (length: number) => Uint8Array,
): Promise<Uint8Array> {
  const onAbort = () => body.destroy?.(signal.reason instanceof Error ? signal.reason : undefined);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    if (contentLength !== undefined && Number.isSafeInteger(contentLength) && contentLength >= 0) {
      // The caller's buffer when it offers one (GetOptions.into), else new unzeroed memory: every byte is overwritten.
      const offered = into?.(contentLength);
      const out = offered !== undefined && offered.byteLength >= contentLength ? offered.subarray(0, contentLength) : new Uint8Array(Buffer.allocUnsafeSlow(contentLength).buffer, 0, contentLength);
      let offset = 0;
      for await (const chunk of body) {
        // an abandoned attempt writes nothing more into memory a retry may be using
        if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error("aborted");
        progress();
        if (offset + chunk.length > contentLength) return Buffer.concat([out.subarray(0, offset), chunk]);
        out.set(chunk, offset);
        offset += chunk.length;
      }
      return offset === contentLength ? out : out.subarray(0, offset);
    }
    const chunks: Uint8Array[] = [];
    for await (const chunk of body) {
      progress();
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
