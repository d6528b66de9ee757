import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpServerOptions {
  /** how long close() waits for in-flight requests before cutting connections */
  shutdownGraceMs: number;
  /** longest a single request may take, body included */
  requestTimeoutMs: number;
}

export interface HttpServer {
  readonly server: Server;
  readonly closing: boolean;
  listen(port: number, host: string): Promise<{ port: number; host: string }>;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), then resolves. Safe to call twice. */
  close(): Promise<void>;
}

export function createHttpServer(handler: RequestListener, options: HttpServerOptions): HttpServer {
  // Node checks request timeouts every `connectionsCheckingInterval` (30 s by default), so a
  // stalled body would otherwise hold its socket and budget up to 30 s past the timeout.
  const server = createServer(
    { requestTimeout: options.requestTimeoutMs, keepAliveTimeout: 5_000, connectionsCheckingInterval: Math.min(1_000, options.requestTimeoutMs) },
    handler,
  );
  let closing: Promise<void> | null = null;
  // Responses not yet started when shutdown begins get `Connection: close`, so busy
  // keep-alive connections end after their current request instead of lingering.
  const pending = new Set<ServerResponse>();
  const closeAfter = (res: ServerResponse): void => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
  };
  server.prependListener('request', (_req, res: ServerResponse) => {
    if (closing) return closeAfter(res);
    pending.add(res);
    res.once('close', () => pending.delete(res));
  });

  return {
    server,
    get closing() {
      return closing !== null;
    },
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          resolve({ port: address.port, host: address.address });
        });
      });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        for (const res of pending) closeAfter(res);
        pending.clear();
        const force = setTimeout(() => server.closeAllConnections(), options.shutdownGraceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
