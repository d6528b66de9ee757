import pg from 'pg';
import type { Logger, PgPool } from '@canopy/core';
import type { Action } from './actions.js';
import { PolicyError } from './errors.js';
import { loadTenantFacts } from './load.js';
import { createStaticPolicy, type StaticPolicy } from './static-policy.js';
import type { Decision, Scope, Subject } from './types.js';

/** The channel core's triggers notify on any change to members, workspaces, keys or tokens. */
export const POLICY_CHANNEL = 'canopy_policy';

export interface PolicyEngineDeps {
  pool: PgPool;
  log: Logger;
}

export interface PolicyEngineOptions {
  /** full reload this often, to catch anything a notification missed */
  reloadIntervalMs?: number;
  /** Postgres URL for the LISTEN connection; without it one pool connection is held for it */
  listenUrl?: string;
  /** notifications arriving within this window cause one reload */
  debounceMs?: number;
  /** longest wait between attempts to re-establish a lost LISTEN connection */
  maxReconnectDelayMs?: number;
}

export interface PolicyEngine {
  /** Synchronous and cheap: answers from the policy in memory. Denies everything until `ready`. */
  authorize(subject: Subject, scope: Scope, action: Action): Decision;
  /** Loads every grant from Postgres and swaps the policy in; on failure keeps the current one and rejects. */
  reload(): Promise<void>;
  /** Settles after the first load: resolves once a policy is in, rejects with a PolicyError when it failed. */
  readonly ready: Promise<void>;
  /** Increases by one each time a changed policy is swapped in (0: none yet). */
  readonly version: number;
  /** Stops listening and reloading; safe to call twice. */
  close(): Promise<void>;
}

interface Listener {
  client: pg.ClientBase;
  /** closes the connection (a pooled one is destroyed, never returned); safe to call twice */
  release(): Promise<void>;
}

interface Published {
  policy: StaticPolicy;
  fingerprint: string;
  version: number;
}

const NOTHING_LOADED: Decision = Object.freeze({ allowed: false });
const EMPTY_POLICY: StaticPolicy = {
  authorize: () => NOTHING_LOADED,
  stats: { facts: 0, orgs: 0, workspaces: 0 },
};

/**
 * Keeps an in-memory policy in step with Postgres. Each reload builds a whole new
 * policy off to the side and publishes it with one assignment, so a request sees either
 * the old policy or the new one, never a half-built or empty one.
 */
export function createPolicyEngine(deps: PolicyEngineDeps, options: PolicyEngineOptions = {}): PolicyEngine {
  const { pool, log } = deps;
  const reloadIntervalMs = options.reloadIntervalMs ?? 30_000;
  const debounceMs = options.debounceMs ?? 50;
  const maxReconnectDelayMs = options.maxReconnectDelayMs ?? 5_000;

  let current: Published = { policy: EMPTY_POLICY, fingerprint: '', version: 0 };
  let closed = false;
  let closing: Promise<void> | undefined;
  let listener: Listener | undefined;
  let debounceTimer: NodeJS.Timeout | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let reconnectDelayMs = 100;
  let inFlight: Promise<void> | undefined;
  let queued: Promise<void> | undefined;

  async function loadOnce(): Promise<void> {
    const started = performance.now();
    try {
      const loaded = await loadTenantFacts(pool);
      if (loaded.fingerprint === current.fingerprint) return;
      const policy = await createStaticPolicy(loaded.facts);
      current = { policy, fingerprint: loaded.fingerprint, version: current.version + 1 };
      if (loaded.skipped > 0) log.warn({ skipped: loaded.skipped }, 'policy rows with an unknown role or scope were ignored');
      log.debug({ version: current.version, ...policy.stats, ms: Math.round(performance.now() - started) }, 'policy loaded');
    } catch (err) {
      const error = new PolicyError('load_failed', `policy reload failed; keeping version ${current.version}`, { cause: err });
      log.warn({ err: error, code: error.code, version: current.version }, error.message);
      throw error;
    }
  }

  /** Coalesces: at most one load runs, and at most one more waits to start after it. */
  function reload(): Promise<void> {
    if (queued) return queued;
    if (!inFlight) {
      inFlight = loadOnce().finally(() => (inFlight = undefined));
      return inFlight;
    }
    queued = inFlight
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return reload();
      });
    return queued;
  }

  function reloadInBackground(): void {
    if (!closed) reload().catch(() => undefined); // logged by loadOnce; the current policy stays
  }

  function onNotification(): void {
    if (closed || debounceTimer) return;
    debounceTimer = setTimeout(() => {
      debounceTimer = undefined;
      reloadInBackground();
    }, debounceMs);
    debounceTimer.unref();
  }

  async function connectListener(): Promise<Listener> {
    let client: pg.Client | pg.PoolClient;
    let drop: () => Promise<void>;
    if (options.listenUrl) {
      const own = new pg.Client({ connectionString: options.listenUrl, connectionTimeoutMillis: 5_000 });
      own.on('error', () => undefined); // replaced by `listen`'s handler once connected
      await own.connect();
      client = own;
      drop = () => own.end().catch(() => undefined);
    } else {
      const pooled = await pool.connect();
      pooled.on('error', () => undefined);
      client = pooled;
      // Never hand a LISTENing connection back to the pool: destroy it.
      drop = async () => pooled.release(true);
    }
    let released: Promise<void> | undefined;
    return { client, release: () => (released ??= drop()) };
  }

  /** Opens the LISTEN connection; on any loss, reconnects with backoff and reloads in full. */
  async function listen(): Promise<void> {
    let conn: Listener | undefined;
    try {
      conn = await connectListener();
      const lost = (err?: Error): void => {
        if (listener !== conn) return;
        listener = undefined;
        void conn?.release();
        if (closed) return;
        log.warn({ err, code: 'listen_failed' }, 'policy LISTEN connection lost; reconnecting');
        scheduleReconnect();
      };
      conn.client.on('notification', (msg) => {
        if (msg.channel === POLICY_CHANNEL) onNotification();
      });
      conn.client.on('error', lost);
      conn.client.on('end', () => lost());
      listener = conn;
      await conn.client.query(`LISTEN ${POLICY_CHANNEL}`);
      if (closed) throw new Error('closed');
      reconnectDelayMs = 100;
    } catch (err) {
      if (conn && listener === conn) listener = undefined;
      await conn?.release();
      if (closed) return;
      const error = new PolicyError('listen_failed', 'cannot LISTEN for policy changes; relying on periodic reloads until it can', { cause: err });
      log.warn({ err: error, code: error.code }, error.message);
      scheduleReconnect();
      throw error;
    }
  }

  function scheduleReconnect(): void {
    if (closed || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      // Anything may have changed while nobody listened: reload in full once listening again.
      listen().then(reloadInBackground, () => undefined);
    }, reconnectDelayMs);
    reconnectTimer.unref();
    reconnectDelayMs = Math.min(reconnectDelayMs * 2, maxReconnectDelayMs);
  }

  const interval = setInterval(reloadInBackground, reloadIntervalMs);
  interval.unref();

  // Listen first, then load: a change committed between the two is then never missed.
  const ready = listen()
    .catch(() => undefined)
    .then(() => reload());
  ready.catch(() => undefined); // the caller decides whether a failed first load is fatal

  return {
    authorize(subject, scope, action) {
      return current.policy.authorize(subject, scope, action);
    },
    reload,
    ready,
    get version() {
      return current.version;
    },
    close() {
      closing ??= (async () => {
        closed = true;
        clearInterval(interval);
        clearTimeout(debounceTimer);
        clearTimeout(reconnectTimer);
        const conn = listener;
        listener = undefined;
        await conn?.release();
        await Promise.allSettled([inFlight, queued]);
      })();
      return closing;
    },
  };
}
