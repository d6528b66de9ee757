import pg from 'pg';
import type { PgPool } from '../postgres/pool.js';
import type { Logger } from '../log.js';
import { findApiKeyByHash, type ApiKeyPrincipal } from './store.js';
import { hashSecret } from './secrets.js';

export interface KeyCacheOptions {
  /** how long a resolved key is trusted without re-reading Postgres */
  ttlMs: number;
  /** how long "no such key" is remembered, so bad keys cannot hammer Postgres */
  negativeTtlMs: number;
  /** Postgres URL to LISTEN on for key changes; omit to rely on TTLs only */
  listenUrl?: string;
}

export interface KeyCache {
  /** Resolves a presented secret; answers from memory when it can. */
  resolve(secret: string): Promise<ApiKeyPrincipal | null>;
  /** Number of entries (for metrics/tests). */
  size(): number;
  close(): Promise<void>;
}

interface Entry {
  value: ApiKeyPrincipal | null;
  expiresAt: number;
}

const MAX_ENTRIES = 100_000;

/**
 * In-memory key resolution: a request costs no database round trip once its key is
 * cached. A LISTEN on `canopy_api_keys` drops an entry the moment its key changes
 * (revoked, created), and TTLs catch anything a lost connection missed.
 */
export async function createKeyCache(deps: { pool: PgPool; log: Logger }, options: KeyCacheOptions): Promise<KeyCache> {
  const entries = new Map<string, Entry>();
  const inflight = new Map<string, Promise<ApiKeyPrincipal | null>>();
  let listener: pg.Client | null = null;
  let closed = false;
  let reconnectTimer: NodeJS.Timeout | null = null;

  const connectListener = async (): Promise<void> => {
    if (!options.listenUrl || closed) return;
    const client = new pg.Client({ connectionString: options.listenUrl, connectionTimeoutMillis: 5_000 });
    client.on('notification', (msg) => {
      if (msg.payload) entries.delete(msg.payload);
    });
    client.on('error', (err) => {
      deps.log.warn({ err: err.message }, 'key-change listener lost its connection; reconnecting');
      entries.clear();
      listener = null;
      client.end().catch(() => undefined);
      scheduleReconnect();
    });
    try {
      await client.connect();
      await client.query('LISTEN canopy_api_keys');
      listener = client;
      // Anything that changed while we were not listening is unknown: start fresh.
      entries.clear();
    } catch (err) {
      deps.log.warn({ err: (err as Error).message }, 'cannot LISTEN for key changes; retrying');
      await client.end().catch(() => undefined);
      scheduleReconnect();
    }
  };
  const scheduleReconnect = (): void => {
    if (closed || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      void connectListener();
    }, 1_000);
    reconnectTimer.unref();
  };
  await connectListener();

  return {
    async resolve(secret: string): Promise<ApiKeyPrincipal | null> {
      const hash = hashSecret(secret);
      const now = Date.now();
      const hit = entries.get(hash);
      if (hit && hit.expiresAt > now) {
        if (hit.value?.expiresAt != null && hit.value.expiresAt <= now) return null;
        return hit.value;
      }
      const pending = inflight.get(hash);
      if (pending) return pending;
      const lookup = findApiKeyByHash(deps.pool, hash)
        .then((value) => {
          if (entries.size >= MAX_ENTRIES) entries.clear();
          entries.set(hash, { value, expiresAt: Date.now() + (value ? options.ttlMs : options.negativeTtlMs) });
          if (value?.expiresAt != null && value.expiresAt <= Date.now()) return null;
          return value;
        })
        .finally(() => inflight.delete(hash));
      inflight.set(hash, lookup);
      return lookup;
    },
    size: () => entries.size,
    async close(): Promise<void> {
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      const l = listener;
      listener = null;
      if (l) await l.end().catch(() => undefined);
    },
  };
}
