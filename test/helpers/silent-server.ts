/**
 * Endpoints that fail at the socket level, on 127.0.0.1: a TCP server that accepts connections
 * and never answers (to exercise timeouts), and a port that nothing listens on (endpoint down).
 */
import { createServer, type AddressInfo, type Socket } from "node:net";

export interface SilentServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Connections accepted so far, and those the client has not closed yet. */
  readonly connections: number;
  readonly openConnections: number;
  close(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("error", () => undefined);
    // Read and drop what the client sends, so that its FIN or RST is seen and the socket closes.
    socket.resume();
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get openConnections() {
      return sockets.size;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A 127.0.0.1 port that was free a moment ago and has no listener now. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
