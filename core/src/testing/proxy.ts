import net, { type AddressInfo } from 'node:net';

export interface TcpProxy {
  /** the target's URL with host and port of the proxy */
  url: string;
  /** drops every open connection and refuses new ones, like a network outage */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  /** carries bytes between a client and its upstream connection; default: both ways unchanged */
  relay?: (client: net.Socket, upstream: net.Socket) => void;
}

const pipeBothWays = (client: net.Socket, upstream: net.Socket): void => {
  client.pipe(upstream).pipe(client);
};

/** A TCP hop in front of a real service (ClickHouse, Postgres, Redis) that can be cut like a network outage. */
export async function startTcpProxy(target: URL, defaultPort: number, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const relay = options.relay ?? pipeBothWays;
  const sockets = new Set<net.Socket>();
  let down = false;
  const server = net.createServer((client) => {
    if (down) return void client.destroy();
    const upstream = net.connect(Number(target.port || defaultPort), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    relay(client, upstream);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const proxied = new URL(target);
  proxied.hostname = '127.0.0.1';
  proxied.port = String((server.address() as AddressInfo).port);
  return {
    url: proxied.toString().replace(/\/$/, ''),
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      down = false;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
