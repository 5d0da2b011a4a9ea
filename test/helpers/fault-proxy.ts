/**
 * An HTTP proxy on 127.0.0.1 in front of a real S3 endpoint that answers chosen requests with a
 * fault instead of forwarding them (S3 error answers: 503 SlowDown, 500 InternalError, 403
 * RequestTimeTooSkewed, 409 ConditionalRequestConflict, 404 NoSuchKey; a 502 or 403 with no body;
 * a connection reset; no answer at all; or a fake "200" for a server that ignores conditional
 * headers), or forwards them with their bytes slowed down (a response body trickled or stalled
 * halfway, a request body read slowly). The Host header is
 * forwarded unchanged, so SigV4 signatures made for the proxy's address still verify at the endpoint.
 */
import { createHash } from "node:crypto";
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { pipeline, Transform } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";

export type Fault =
  | "slow-down"
  | "internal-error"
  | "bad-gateway"
  /** 403 with no body, as every 403 to a HEAD is: the client cannot tell why. */
  | "forbidden"
  | "reset"
  | "hang"
  /** 403 RequestTimeTooSkewed: what S3 answers a request signed by a machine whose clock is off. */
  | "clock-skew"
  /** 409 ConditionalRequestConflict: what AWS S3 answers a conditional write racing another. */
  | "conditional-conflict"
  /** 404 NoSuchKey: what some servers answer a PUT with If-Match on a missing key. */
  | "no-such-key"
  /** Not forwarded: 200 with the body's MD5 as ETag (PUT) or 204 (DELETE), as from a server that ignores conditions. */
  | "accept-unforwarded"
  /** Forwarded; the response body goes out in `chunkBytes` pieces, one every `intervalMs`. */
  | { kind: "trickle"; chunkBytes: number; intervalMs: number }
  /** Forwarded; the response body stops for `stallMs` after its first `afterBytes` bytes. */
  | { kind: "stall"; afterBytes: number; stallMs: number }
  /** Forwarded; the request body is read one socket chunk (up to 64 KiB) every `intervalMs`. */
  | { kind: "slow-upload"; intervalMs: number };

/** The fault for the n-th request (0-based), or undefined to forward it. */
export type FaultPlan = (n: number, request: IncomingMessage) => Fault | undefined;

export interface ProxiedRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  /** Whether it carried If-Match or If-None-Match. */
  conditional: boolean;
  fault?: Fault;
}

export interface FaultProxy {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Requests received so far, and how many of them got a fault. */
  readonly received: number;
  readonly faulted: number;
  /** Every request since the last setPlan. */
  readonly requests: readonly ProxiedRequest[];
  setPlan(plan: FaultPlan): void;
  close(): Promise<void>;
}

/** The first `count` requests get `fault`; later ones are forwarded. */
export function firstRequests(count: number, fault: Fault): FaultPlan {
  return (n) => (n < count ? fault : undefined);
}

export function isConditional(req: IncomingMessage): boolean {
  return req.headers["if-match"] !== undefined || req.headers["if-none-match"] !== undefined;
}

/**
 * A server that accepts If-Match / If-None-Match and ignores them: every conditional PUT or DELETE
 * "succeeds". (It is answered by the proxy, not forwarded: removing the header would break the
 * request's signature, and forwarding it would let the real server enforce it.)
 */
export function ignoringConditions(): FaultPlan {
  return (_n, req) => ((req.method === "PUT" || req.method === "DELETE") && isConditional(req) ? "accept-unforwarded" : undefined);
}

/** A proxy to `target` on `port` (a free one when omitted; the same one again to "restart" it). */
export async function startFaultProxy(target: string, port = 0): Promise<FaultProxy> {
  const upstream = new URL(target);
  let plan: FaultPlan = () => undefined;
  let received = 0;
  let faulted = 0;
  let requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const fault = plan(received++, req);
    requests.push({ method: req.method ?? "?", url: req.url ?? "/", conditional: isConditional(req), fault });
    if (fault !== undefined) faulted++;
    if (fault === undefined || typeof fault === "object") return forward(req, res, fault);
    injectFault(fault, req, res);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  function forward(req: IncomingMessage, res: ServerResponse, shaping?: Exclude<Fault, string>): void {
    const outgoing = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        const shaper = shaping?.kind === "trickle" ? trickle(shaping.chunkBytes, shaping.intervalMs) : shaping?.kind === "stall" ? stallAfter(shaping.afterBytes, shaping.stallMs) : undefined;
        if (shaper) pipeline(answer, shaper, res, () => undefined);
        else answer.pipe(res);
      },
    );
    outgoing.on("error", () => res.destroy());
    // The client gave up (a timeout, an abort): so does the proxy, as a real connection would.
    res.on("close", () => {
      if (!res.writableFinished) outgoing.destroy();
    });
    if (shaping?.kind === "slow-upload") pipeline(req, delayEachChunk(shaping.intervalMs), outgoing, () => undefined);
    else req.pipe(outgoing);
  }

  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get received() {
      return received;
    },
    get faulted() {
      return faulted;
    },
    get requests() {
      return requests;
    },
    setPlan(next) {
      plan = next;
      received = 0;
      faulted = 0;
      requests = [];
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function injectFault(fault: Exclude<Fault, object>, req: IncomingMessage, res: ServerResponse): void {
  if (fault === "hang") return;
  if (fault === "reset") {
    req.socket.destroy();
    return;
  }
  // Read the request body first, as a server does, so the client never sees EPIPE instead.
  const md5 = createHash("md5");
  req.on("data", (chunk: Buffer) => md5.update(chunk));
  req.on("end", () => {
    if (fault === "bad-gateway" || fault === "forbidden") {
      res.writeHead(fault === "forbidden" ? 403 : 502, { "content-length": "0" }).end();
      return;
    }
    if (fault === "accept-unforwarded") {
      if (req.method === "DELETE") res.writeHead(204).end();
      else res.writeHead(200, { etag: `"${md5.digest("hex")}"`, "content-length": "0" }).end();
      return;
    }
    const [status, code, message] = ERROR_ANSWERS[fault];
    // A HEAD answer has no body; clients then know only the status.
    const body = req.method === "HEAD" ? "" : s3ErrorXml(code, message, req.url ?? "/");
    res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) }).end(body);
  });
}

/** Passes the bytes on at `chunkBytes` per `intervalMs`, in pieces of at most `chunkBytes`. */
function trickle(chunkBytes: number, intervalMs: number): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      void (async () => {
        for (let offset = 0; offset < chunk.length; offset += chunkBytes) {
          if (this.destroyed) return;
          const piece = chunk.subarray(offset, offset + chunkBytes);
          this.push(piece);
          await delay((intervalMs * piece.length) / chunkBytes);
        }
        done();
      })();
    },
  });
}

/** Passes the first `afterBytes` bytes on at once, then nothing for `stallMs`, then the rest. */
function stallAfter(afterBytes: number, stallMs: number): Transform {
  let passed = 0;
  let stalled = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (stalled || passed + chunk.length <= afterBytes) {
        passed += chunk.length;
        done(null, chunk);
        return;
      }
      stalled = true;
      const head = Math.max(0, afterBytes - passed);
      passed += chunk.length;
      if (head > 0) this.push(chunk.subarray(0, head));
      setTimeout(() => done(null, chunk.subarray(head)), stallMs);
    },
  });
}

/** Holds each chunk `intervalMs` before passing it on: a reader slower than the writer. */
function delayEachChunk(intervalMs: number): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      setTimeout(() => done(null, chunk), intervalMs);
    },
  });
}

const ERROR_ANSWERS: Record<Exclude<Fault, object | "hang" | "reset" | "bad-gateway" | "forbidden" | "accept-unforwarded">, [number, string, string]> = {
  "slow-down": [503, "SlowDown", "Please reduce your request rate."],
  "internal-error": [500, "InternalError", "We encountered an internal error."],
  "clock-skew": [403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."],
  "conditional-conflict": [409, "ConditionalRequestConflict", "A conflicting operation occurred. If using PutObject you can retry the request."],
  "no-such-key": [404, "NoSuchKey", "The specified key does not exist."],
};

function s3ErrorXml(code: string, message: string, resource: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Resource>${escapeXml(resource)}</Resource><RequestId>fault-proxy</RequestId></Error>`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
