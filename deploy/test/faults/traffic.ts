import { randomBytes } from 'node:crypto';

/**
 * A load generator for the fault tests: OTLP/JSON export requests whose span ids are
 * known and unique, sent the way an OTel exporter sends them — a 429/503 or a network
 * error is retried with the same body (the exporter honours Retry-After; here the wait
 * is capped so the tests stay short), anything else is final. It counts what the
 * collector acknowledged, so a test can compare "spans that got a 2xx" with what
 * ClickHouse holds.
 */
export interface TrafficOptions {
  url: string;
  key: string;
  /** concurrent senders */
  lanes: number;
  spansPerRequest: number;
  /** pause between one lane's requests */
  pauseMs: number;
  /** longest wait before re-sending after a 429/503/network error */
  maxRetryDelayMs?: number;
  /** a request still failing after this long counts as given up */
  giveUpAfterMs?: number;
}

export interface TrafficStats {
  /** requests answered 2xx, and the spans in them */
  acknowledgedRequests: number;
  acknowledgedSpans: number;
  /** every answer and network error seen, by status code or error code, retries included */
  outcomes: Record<string, number>;
  /** re-sends of a body after a retryable answer */
  retries: number;
  /** span ids of acknowledged requests that had been answered 429/503 or failed on the network before: the ones an ambiguous answer may have queued twice */
  resentSpanIds: Set<string>;
  /** requests that ended without a 2xx (a final 4xx/5xx, or given up) */
  failed: Array<{ outcome: string; spans: number }>;
  /** every attempt's outcome over time: [ms since the traffic started, outcome] */
  timeline: Array<[number, string]>;
}

export interface Traffic {
  /** stats so far */
  readonly stats: TrafficStats;
  /** Stops starting new requests and waits until every started one is acknowledged or failed. */
  stop(): Promise<TrafficStats>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What a fetch failure was, by the code of its cause (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, …). */
export function networkErrorCode(err: unknown): string {
  let cur: unknown = err;
  for (let i = 0; cur && i < 4; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return 'network_error';
}

/** Builds export bodies with ids unique across the whole run: a random run prefix and a counter. */
export function createSpanSource(spansPerRequest: number): { next(): { body: string; spans: number; spanIds: string[] } } {
  const run = randomBytes(3).toString('hex');
  let counter = 0;
  return {
    next() {
      const traceId = randomBytes(16).toString('hex');
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      const spans = Array.from({ length: spansPerRequest }, (_, i) => {
        const spanId = run + (counter++).toString(16).padStart(10, '0');
        return {
          traceId,
          spanId,
          name: `fault-op-${i % 7}`,
          kind: 2,
          startTimeUnixNano: String(nowNs + BigInt(i) * 1000n),
          endTimeUnixNano: String(nowNs + BigInt(i) * 1000n + 5_000_000n),
          attributes: [{ key: 'fault.seq', value: { intValue: String(counter) } }],
        };
      });
      const body = JSON.stringify({
        resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'fault-gen' } }] }, scopeSpans: [{ scope: { name: 'faults' }, spans }] }],
      });
      return { body, spans: spansPerRequest, spanIds: spans.map((sp) => sp.spanId) };
    },
  };
}

function retryDelayMs(res: Response | null, cap: number): number {
  const header = Number(res?.headers.get('retry-after'));
  return Math.min(cap, Number.isFinite(header) && header > 0 ? header * 1000 : 200);
}

export function startTraffic(options: TrafficOptions): Traffic {
  const source = createSpanSource(options.spansPerRequest);
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 500;
  const giveUpAfterMs = options.giveUpAfterMs ?? 120_000;
  const startedAt = Date.now();
  const stats: TrafficStats = { acknowledgedRequests: 0, acknowledgedSpans: 0, outcomes: {}, retries: 0, resentSpanIds: new Set(), failed: [], timeline: [] };
  let stopped = false;

  const record = (outcome: string): void => {
    stats.outcomes[outcome] = (stats.outcomes[outcome] ?? 0) + 1;
    stats.timeline.push([Date.now() - startedAt, outcome]);
  };

  async function exportOnce(): Promise<void> {
    const { body, spans, spanIds } = source.next();
    const firstTry = Date.now();
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) stats.retries++;
      let res: Response | null = null;
      let outcome: string;
      try {
        res = await fetch(options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${options.key}` },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        await res.arrayBuffer();
        outcome = String(res.status);
      } catch (err) {
        outcome = networkErrorCode(err);
      }
      record(outcome);
      if (res?.ok) {
        stats.acknowledgedRequests++;
        stats.acknowledgedSpans += spans;
        if (attempt > 0) for (const id of spanIds) stats.resentSpanIds.add(id);
        return;
      }
      const retryable = res === null || res.status === 429 || res.status === 503 || res.status === 502 || res.status === 504;
      if (!retryable || Date.now() - firstTry > giveUpAfterMs) {
        stats.failed.push({ outcome, spans });
        return;
      }
      await sleep(retryDelayMs(res, maxRetryDelayMs));
    }
  }

  const lanes = Array.from({ length: options.lanes }, async () => {
    while (!stopped) {
      await exportOnce();
      if (options.pauseMs > 0) await sleep(options.pauseMs);
    }
  });

  return {
    stats,
    async stop() {
      stopped = true;
      await Promise.all(lanes);
      return stats;
    },
  };
}
