import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

/**
 * Serves a built console (console/dist) the way the query API will: static files, and
 * index.html for any other non-API path; `/api/*` and `/openapi.json` are proxied to a
 * running query API so the console talks to it on the same origin.
 */
export interface ConsoleServer {
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

function proxy(req: http.IncomingMessage, res: http.ServerResponse, api: URL): void {
  const upstream = http.request(
    { hostname: api.hostname, port: api.port, method: req.method, path: req.url, headers: { ...req.headers, host: api.host } },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', (err) => {
    if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'bad_gateway', message: err.message } }));
  });
  req.pipe(upstream);
}

function serveFile(res: http.ServerResponse, file: string): void {
  res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-cache' });
  fs.createReadStream(file).pipe(res);
}

export async function serveConsole(options: { distDir: string; apiUrl: string; port?: number }): Promise<ConsoleServer> {
  const root = path.resolve(options.distDir);
  const index = path.join(root, 'index.html');
  if (!fs.existsSync(index)) throw new Error(`${index} is missing: build the console first (npm run build -w console)`);
  const api = new URL(options.apiUrl);
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (urlPath.startsWith('/api/') || urlPath === '/openapi.json') return proxy(req, res, api);
    const file = path.resolve(root, `.${urlPath}`);
    if (file.startsWith(root + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile()) return serveFile(res, file);
    return serveFile(res, index);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
