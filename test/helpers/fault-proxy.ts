/**
 * An HTTP proxy on 127.0.0.1 in front of a real S3 endpoint that answers chosen requests with a
 * fault instead of forwarding them: a 503 SlowDown or 500 InternalError as S3 sends them, a 502
 * with no body, a connection reset, or no answer at all. The Host header is forwarded unchanged,
 * so SigV4 signatures made for the proxy's address still verify at the endpoint.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type Fault = "slow-down" | "internal-error" | "bad-gateway" | "reset" | "hang";

/** The fault for the n-th request (0-based), or undefined to forward it. */
export type FaultPlan = (n: number, request: IncomingMessage) => Fault | undefined;

export interface FaultProxy {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Requests received so far, and how many of them got a fault. */
  readonly received: number;
  readonly faulted: number;
  setPlan(plan: FaultPlan): void;
  close(): Promise<void>;
}

/** The first `count` requests get `fault`; later ones are forwarded. */
export function firstRequests(count: number, fault: Fault): FaultPlan {
  return (n) => (n < count ? fault : undefined);
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let plan: FaultPlan = () => undefined;
  let received = 0;
  let faulted = 0;
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const fault = plan(received++, req);
    if (fault === undefined) return forward(req, res);
    faulted++;
    injectFault(fault, req, res);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  function forward(req: IncomingMessage, res: ServerResponse): void {
    const outgoing = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    outgoing.on("error", () => res.destroy());
    req.pipe(outgoing);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get received() {
      return received;
    },
    get faulted() {
      return faulted;
    },
    setPlan(next) {
      plan = next;
      received = 0;
      faulted = 0;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function injectFault(fault: Fault, req: IncomingMessage, res: ServerResponse): void {
  if (fault === "hang") return;
  if (fault === "reset") {
    req.socket.destroy();
    return;
  }
  // Read the request body first, as a server does, so the client never sees EPIPE instead.
  req.resume();
  req.on("end", () => {
    if (fault === "bad-gateway") {
      res.writeHead(502, { "content-length": "0" }).end();
      return;
    }
    const [status, code, message] =
      fault === "slow-down" ? [503, "SlowDown", "Please reduce your request rate."] : [500, "InternalError", "We encountered an internal error."];
    // A HEAD answer has no body; clients then know only the status.
    const body = req.method === "HEAD" ? "" : s3ErrorXml(code, message, req.url ?? "/");
    res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) }).end(body);
  });
}

function s3ErrorXml(code: string, message: string, resource: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Resource>${escapeXml(resource)}</Resource><RequestId>fault-proxy</RequestId></Error>`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
