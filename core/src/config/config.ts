import { z } from 'zod';
import { DEFAULT_SPAN_LIMITS, type SpanLimits } from '../otlp/limits.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number) => z.coerce.number().int().min(min);

/**
 * Every setting Canopy reads, with its environment variable, default and meaning.
 * Parsed once in each service's main.ts; nothing else reads process.env.
 */
export const configSchema = z.object({
  CANOPY_CLICKHOUSE_URL: z.url().default('http://127.0.0.1:8123').describe('ClickHouse HTTP endpoint'),
  CANOPY_CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('canopy').describe('ClickHouse database'),
  CANOPY_CLICKHOUSE_USER: z.string().default('default').describe('ClickHouse user'),
  CANOPY_CLICKHOUSE_PASSWORD: z.string().default('').describe('ClickHouse password'),
  CANOPY_CLICKHOUSE_CLUSTER: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional().describe('ClickHouse cluster name; switches to replicated + Distributed tables'),
  CANOPY_DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/canopy').describe('Postgres connection URL'),
  CANOPY_REDIS_URL: z.string().default('redis://127.0.0.1:6379').describe('Redis URL for the BullMQ queue'),
  CANOPY_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_{}:-]+$/).default('canopy').describe('BullMQ key prefix (use a {hash-tag} on Redis Cluster)'),
  CANOPY_COLLECTOR_PORT: int(0).default(4318).describe('collector OTLP/HTTP port'),
  CANOPY_COLLECTOR_HOST: z.string().default('0.0.0.0').describe('collector bind address'),
  CANOPY_API_PORT: int(0).default(8080).describe('query API port'),
  CANOPY_API_HOST: z.string().default('0.0.0.0').describe('query API bind address'),
  CANOPY_API_TRUST_PROXY: z
    .string()
    .default('false')
    .transform((v): boolean | number | string => (v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v))
    .describe("which proxies the query API believes about a request's source IP (audit log): false, true, a hop count, or addresses/CIDRs (Express `trust proxy`)"),
  CANOPY_MAX_BODY_BYTES: int(1024).default(16 * 1024 * 1024).describe('largest OTLP body accepted, measured after decompression'),
  CANOPY_MAX_INFLIGHT_BYTES: int(1024)
    .default(128 * 1024 * 1024)
    .describe('memory all in-progress export requests of one collector may hold together: bodies being read (after decompression), then batches waiting for Redis (~3x their row text); past it, 503 + Retry-After. At least CANOPY_MAX_BODY_BYTES'),
  CANOPY_QUEUE_MAX_DEPTH: int(1).default(5_000).describe('span queue jobs (one per accepted request) waiting or delayed above which the collector answers 503 + Retry-After'),
  CANOPY_MAX_DECODE_WAIT_MS: int(1).default(1_000).describe('estimated wait for the decode queue (CPU saturation) above which the collector answers 503 + Retry-After before reading a body'),
  CANOPY_RETRY_AFTER_MAX_SECONDS: int(1).default(5).describe('503/429 answers carry a Retry-After drawn at random from 1 to this many seconds, so clients do not retry in step'),
  CANOPY_COLLECTOR_REQUEST_TIMEOUT_MS: int(1_000).default(60_000).describe('longest an export request may take to arrive (headers and body) before the collector drops it'),
  CANOPY_CORS_ORIGINS: z
    .string()
    .optional()
    .transform((v, ctx): '*' | string[] => {
      if (!v || !v.trim()) return [];
      if (v.trim() === '*') return '*';
      const origins = v.split(',').map((o) => o.trim().toLowerCase().replace(/\/+$/, '')).filter(Boolean);
      for (const o of origins) if (!/^https?:\/\/[^/\s]+$/.test(o)) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(o)} is not an origin like https://app.example.com` });
      return origins;
    })
    .describe('browser origins allowed to send OTLP to the collector (CORS): `*` or a comma list of origins; unset sends no CORS headers'),
  CANOPY_AUTH_FAILURES_PER_MINUTE: int(0).default(60).describe('failed authentications (401) one client IP may have per minute before it gets 429 + Retry-After until the minute ends; 0 turns the limit off'),
  CANOPY_COLLECTOR_TRUST_PROXY: z
    .string()
    .default('false')
    .transform((v): boolean | number | string => (v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v))
    .describe("which proxies the collector believes about a request's source IP (failed-auth limiting): false, true, a hop count, or addresses/CIDRs (Express `trust proxy`)"),
  CANOPY_MAX_ATTRIBUTES_PER_SPAN: int(1).default(DEFAULT_SPAN_LIMITS.maxAttributesPerSpan).describe('attributes kept per span (and per resource, scope, event, link); the rest are dropped and counted in dropped_attributes_count'),
  CANOPY_MAX_ATTRIBUTE_VALUE_BYTES: int(64).default(DEFAULT_SPAN_LIMITS.maxAttributeValueBytes).describe('UTF-8 bytes kept of each attribute key/value, span name, status message and trace state; longer text is cut and ends in …[truncated N bytes]'),
  CANOPY_MAX_EVENTS_PER_SPAN: int(0).default(DEFAULT_SPAN_LIMITS.maxEventsPerSpan).describe('events kept per span; the rest are dropped and counted in dropped_events_count'),
  CANOPY_MAX_LINKS_PER_SPAN: int(0).default(DEFAULT_SPAN_LIMITS.maxLinksPerSpan).describe('links kept per span; the rest are dropped and counted in dropped_links_count'),
  CANOPY_KEY_CACHE_TTL_MS: int(0).default(60_000).describe('how long a resolved API key is trusted before re-reading Postgres'),
  CANOPY_WORKER_CONCURRENCY: int(1).default(256).describe('jobs a worker holds at once (the upper bound of jobs per ClickHouse insert)'),
  CANOPY_BATCH_MAX_ROWS: int(1).default(50_000).describe('flush a ClickHouse insert at this many rows'),
  CANOPY_BATCH_MAX_BYTES: int(1024).default(64 * 1024 * 1024).describe('flush a ClickHouse insert at this many bytes'),
  CANOPY_BATCH_MAX_WAIT_MS: int(1).default(1_000).describe('flush a ClickHouse insert after this long (ClickHouse prefers few large inserts; this bounds freshness)'),
  CANOPY_JOB_ATTEMPTS: int(1).default(40).describe('insert attempts per job before a batch ClickHouse refuses becomes a dead letter'),
  CANOPY_WORKER_LOCK_DURATION_MS: int(1_000).default(60_000).describe('how long a job stays locked to a worker without renewal'),
  CANOPY_WORKER_STALLED_INTERVAL_MS: int(100).default(30_000).describe('how often jobs of dead workers are moved back to wait'),
  CANOPY_WORKER_MAX_STALLED_COUNT: int(0).default(5).describe('stalls after which a job is failed'),
  CANOPY_RETENTION_INTERVAL_MS: int(0).default(3_600_000).describe('how often the retention job may run (once per interval across all workers); 0 turns it off'),
  CANOPY_WORKER_METRICS_PORT: int(0).default(9465).describe('port of the workers\' Prometheus /metrics (ingest ledger flushes and reconciliation); 0 turns it off'),
  CANOPY_LEDGER_FLUSH_INTERVAL_MS: int(0).default(2_000).describe('how often each worker moves the ingest ledger counters from Redis to Postgres; 0 turns the flush off'),
  CANOPY_LEDGER_RECONCILE_INTERVAL_MS: int(0).default(30_000).describe('how often the ingest ledger is reconciled (once per interval across all workers); 0 turns it off'),
  CANOPY_LEDGER_SETTLE_MS: int(0).default(60_000).describe('how long after a minute ends its accepted spans are compared with what was stored (also only once no batch of it is pending)'),
  CANOPY_LEDGER_RECHECK_MS: int(0).default(3_600_000).describe('how long a minute whose counts differ is checked again, so a late store or replay clears the flag'),
  CANOPY_WORKER_FAULT: z.enum(['none', 'kill-after-insert', 'kill-before-insert']).default('none').describe('test-only fault injection in the worker'),
  CANOPY_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('log level'),
  CANOPY_LOG_PRETTY: bool.default(false).describe('human-readable logs instead of JSON lines'),
});

export type RawConfig = z.infer<typeof configSchema>;

export interface CanopyConfig {
  clickhouse: { url: string; database: string; user: string; password: string; cluster: string | undefined };
  postgres: { url: string };
  redis: { url: string; queuePrefix: string };
  collector: {
    port: number;
    host: string;
    maxBodyBytes: number;
    keyCacheTtlMs: number;
    maxInflightBytes: number;
    maxQueueDepth: number;
    maxDecodeWaitMs: number;
    retryAfterMaxSeconds: number;
    requestTimeoutMs: number;
    /** `*`, a list of origins, or [] for no CORS */
    corsOrigins: '*' | string[];
    authFailuresPerMinute: number;
    trustProxy: boolean | number | string;
    spanLimits: SpanLimits;
  };
  api: { port: number; host: string; trustProxy: boolean | number | string };
  worker: {
    concurrency: number;
    batchMaxRows: number;
    batchMaxBytes: number;
    batchMaxWaitMs: number;
    jobAttempts: number;
    lockDurationMs: number;
    stalledIntervalMs: number;
    maxStalledCount: number;
    fault: 'none' | 'kill-after-insert' | 'kill-before-insert';
    /** 0 = retention off */
    retentionIntervalMs: number;
    /** Prometheus /metrics port; 0 = off */
    metricsPort: number;
  };
  ledger: {
    /** 0 = no flush */
    flushIntervalMs: number;
    /** 0 = no reconciliation */
    reconcileIntervalMs: number;
    settleMs: number;
    recheckMs: number;
  };
  log: { level: RawConfig['CANOPY_LOG_LEVEL']; pretty: boolean };
}

export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment into typed config; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): CanopyConfig {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const parsed = configSchema.safeParse(picked);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const c = parsed.data;
  if (c.CANOPY_MAX_INFLIGHT_BYTES < c.CANOPY_MAX_BODY_BYTES) {
    throw new ConfigError([`CANOPY_MAX_INFLIGHT_BYTES: must be at least CANOPY_MAX_BODY_BYTES (${c.CANOPY_MAX_BODY_BYTES}), or no body of the largest size could ever be read`]);
  }
  return {
    clickhouse: {
      url: c.CANOPY_CLICKHOUSE_URL,
      database: c.CANOPY_CLICKHOUSE_DATABASE,
      user: c.CANOPY_CLICKHOUSE_USER,
      password: c.CANOPY_CLICKHOUSE_PASSWORD,
      cluster: c.CANOPY_CLICKHOUSE_CLUSTER,
    },
    postgres: { url: c.CANOPY_DATABASE_URL },
    redis: { url: c.CANOPY_REDIS_URL, queuePrefix: c.CANOPY_QUEUE_PREFIX },
    collector: {
      port: c.CANOPY_COLLECTOR_PORT,
      host: c.CANOPY_COLLECTOR_HOST,
      maxBodyBytes: c.CANOPY_MAX_BODY_BYTES,
      maxInflightBytes: c.CANOPY_MAX_INFLIGHT_BYTES,
      maxQueueDepth: c.CANOPY_QUEUE_MAX_DEPTH,
      maxDecodeWaitMs: c.CANOPY_MAX_DECODE_WAIT_MS,
      retryAfterMaxSeconds: c.CANOPY_RETRY_AFTER_MAX_SECONDS,
      requestTimeoutMs: c.CANOPY_COLLECTOR_REQUEST_TIMEOUT_MS,
      corsOrigins: c.CANOPY_CORS_ORIGINS,
      authFailuresPerMinute: c.CANOPY_AUTH_FAILURES_PER_MINUTE,
      trustProxy: c.CANOPY_COLLECTOR_TRUST_PROXY,
      spanLimits: {
        ...DEFAULT_SPAN_LIMITS,
        maxAttributesPerSpan: c.CANOPY_MAX_ATTRIBUTES_PER_SPAN,
        maxAttributeValueBytes: c.CANOPY_MAX_ATTRIBUTE_VALUE_BYTES,
        maxEventsPerSpan: c.CANOPY_MAX_EVENTS_PER_SPAN,
        maxLinksPerSpan: c.CANOPY_MAX_LINKS_PER_SPAN,
      },
      keyCacheTtlMs: c.CANOPY_KEY_CACHE_TTL_MS,
    },
    api: { port: c.CANOPY_API_PORT, host: c.CANOPY_API_HOST, trustProxy: c.CANOPY_API_TRUST_PROXY },
    worker: {
      concurrency: c.CANOPY_WORKER_CONCURRENCY,
      batchMaxRows: c.CANOPY_BATCH_MAX_ROWS,
      batchMaxBytes: c.CANOPY_BATCH_MAX_BYTES,
      batchMaxWaitMs: c.CANOPY_BATCH_MAX_WAIT_MS,
      jobAttempts: c.CANOPY_JOB_ATTEMPTS,
      lockDurationMs: c.CANOPY_WORKER_LOCK_DURATION_MS,
      stalledIntervalMs: c.CANOPY_WORKER_STALLED_INTERVAL_MS,
      maxStalledCount: c.CANOPY_WORKER_MAX_STALLED_COUNT,
      fault: c.CANOPY_WORKER_FAULT,
      retentionIntervalMs: c.CANOPY_RETENTION_INTERVAL_MS,
      metricsPort: c.CANOPY_WORKER_METRICS_PORT,
    },
    ledger: {
      flushIntervalMs: c.CANOPY_LEDGER_FLUSH_INTERVAL_MS,
      reconcileIntervalMs: c.CANOPY_LEDGER_RECONCILE_INTERVAL_MS,
      settleMs: c.CANOPY_LEDGER_SETTLE_MS,
      recheckMs: c.CANOPY_LEDGER_RECHECK_MS,
    },
    log: { level: c.CANOPY_LOG_LEVEL, pretty: c.CANOPY_LOG_PRETTY },
  };
}

/** Markdown table of every setting, for the README and `canopy config`. */
export function describeConfig(): string {
  const lines = ['| variable | default | meaning |', '| --- | --- | --- |'];
  for (const [key, schema] of Object.entries(configSchema.shape)) {
    const def = (schema as z.ZodType).safeParse(undefined);
    const shown = def.success && def.data !== undefined ? `\`${String(def.data)}\`` : '—';
    lines.push(`| \`${key}\` | ${shown} | ${(schema as z.ZodType).description ?? ''} |`);
  }
  return lines.join('\n');
}
