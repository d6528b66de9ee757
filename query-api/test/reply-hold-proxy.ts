import type net from 'node:net';
import { startTcpProxy } from '@canopy/core/testing';

/**
 * A TCP hop in front of Redis that can lose the answer to a command without losing the
 * command: from the request that contains a marker on, requests still reach Redis (and
 * are executed) but its replies are held back — like a network that stalls on the way
 * back — until released.
 */
export interface ReplyHoldProxy {
  /** the target's URL with host and port of the proxy */
  url: string;
  /** Holds replies from the first request containing `marker` on; released after `forMs` if given. */
  holdRepliesAfter(marker: string, options?: { forMs?: number }): void;
  /** Delivers the held replies, in order, and lets replies through again. */
  release(): void;
  close(): Promise<void>;
}

export async function startReplyHoldProxy(target: URL): Promise<ReplyHoldProxy> {
  let marker: { text: string; forMs?: number | undefined } | null = null;
  let holding = false;
  let timer: NodeJS.Timeout | undefined;
  const held: Array<{ client: net.Socket; chunk: Buffer }> = [];
  const release = (): void => {
    clearTimeout(timer);
    holding = false;
    for (const { client, chunk } of held.splice(0)) client.write(chunk);
  };
  const proxy = await startTcpProxy(target, 6379, {
    relay(client, upstream) {
      client.on('data', (chunk: Buffer) => {
        if (marker && chunk.includes(marker.text)) {
          holding = true;
          if (marker.forMs !== undefined) timer = setTimeout(release, marker.forMs);
          marker = null;
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        if (holding) held.push({ client, chunk });
        else client.write(chunk);
      });
    },
  });
  return {
    url: proxy.url,
    holdRepliesAfter(text, options = {}) {
      marker = { text, forMs: options.forMs };
    },
    release,
    async close() {
      clearTimeout(timer);
      proxy.cut();
      await proxy.close();
    },
  };
}
