import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupsToJsonEachRow, sql, type SpanBatch } from '@canopy/core';
import { createTestEnv, createTestOrg, type TestEnv } from '@canopy/core/testing';
import { decodeExportResponse, decodeRpcStatus, type PayloadFormat } from '../src/index.js';
import { startCollector, type RunningCollector } from './helpers.js';
import { mutate, seededRandom } from './hostile/mutate.js';

// The hostile-input corpus (fixtures/hostile, written by make.mjs) replayed against a
// collector with production defaults, then extended by seeded mutations of its seeds.
// Every answer must be a 4xx or a 200 (with partial_success when spans were refused),
// promptly; valid spans beside bad ones are queued; and every queued row must be one
// ClickHouse (18.16 here) accepts, since a batch it refuses would be retried forever.

const FIXTURES = fileURLToPath(new URL('./fixtures/hostile/', import.meta.url));
const MAX_BODY = 16 * 1024 * 1024;
/** A request that takes longer than this counts as a hang. */
const ANSWER_WITHIN_MS = 15_000;
const FUZZ_CASES = Number(process.env.CANOPY_FUZZ_CASES ?? 400);
const FUZZ_SEED = Number(process.env.CANOPY_FUZZ_SEED ?? 5);

interface Entry {
  file: string;
  contentType: string;
  contentEncoding?: string;
  status: number;
  accepted?: number;
  rejected?: number;
  kept?: string[];
  seed?: boolean;
  what: string;
}

const manifest = JSON.parse(readFileSync(`${FIXTURES}manifest.json`, 'utf8')) as Entry[];

let env: TestEnv;
let c: RunningCollector;
let key: string;
const seen = new Set<string>();
/** Every batch a 200 answer queued, for the ClickHouse check at the end. */
const queued: SpanBatch[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  const org = await createTestOrg(env, ['dev']);
  key = org.workspaces.dev!.ingestKey.key;
  // Production limits. One request at a time, so the CPU shedder (which needs several
  // requests in progress) stays out of the way even after a body that takes a second.
  c = await startCollector(env, { maxBodyBytes: MAX_BODY });
});

afterAll(async () => {
  await c?.close();
  await env?.cleanup();
});

interface Answer {
  status: number;
  ms: number;
  body: Uint8Array;
  format: PayloadFormat;
}

async function send(body: Uint8Array, headers: { contentType: string; contentEncoding?: string }): Promise<Answer> {
  const h: Record<string, string> = { authorization: `Bearer ${key}` };
  if (headers.contentType) h['content-type'] = headers.contentType;
  if (headers.contentEncoding) h['content-encoding'] = headers.contentEncoding;
  const started = Date.now();
  const res = await fetch(`${c.url}/v1/traces`, { method: 'POST', headers: h, body, signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, ms: Date.now() - started, body: bytes, format: res.headers.get('content-type') === 'application/x-protobuf' ? 'protobuf' : 'json' };
}

/** Batches queued since the last call. */
async function newBatches(): Promise<SpanBatch[]> {
  const fresh = (await c.batches()).filter((b) => !seen.has(b.batchId));
  for (const b of fresh) {
    seen.add(b.batchId);
    queued.push(b);
  }
  return fresh;
}

const rowsOf = (batches: SpanBatch[]): Array<Record<string, unknown>> =>
  batches.flatMap((b) => groupsToJsonEachRow(b.groups).split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));

/** Checks an answer is a well-formed 200 or 4xx and returns the rejected-span count of a 200. */
function checkAnswer(answer: Answer, what: string): number {
  expect(answer.status, what).toBeLessThan(500);
  expect(answer.ms, what).toBeLessThan(ANSWER_WITHIN_MS);
  if (answer.status !== 200) {
    expect(answer.status, what).toBeGreaterThanOrEqual(400);
    expect(decodeRpcStatus(answer.format, answer.body).message, what).not.toBe('');
    return 0;
  }
  return Number(decodeExportResponse(answer.format, answer.body).partialSuccess?.rejectedSpans ?? 0);
}

/** Extra checks of what a fixture's rows hold, beyond counts. */
const ROW_CHECKS: Record<string, (rows: Array<Record<string, unknown>>) => void> = {
  'pb/over-limits.pb.gz': ([row]) => {
    expect((row!.name as string).endsWith(`…[truncated ${200_000 - 128 * 1024} bytes]`)).toBe(true);
    expect(row!.attr_keys).toHaveLength(128);
    expect(row!.dropped_attributes_count).toBe(5 + 300 - 128);
    expect(row!.events_name).toHaveLength(128);
    expect(row!.dropped_events_count).toBe(200 - 128);
    expect(row!.links_span_id).toHaveLength(128);
    expect(row!.dropped_links_count).toBe(1 + 150 - 128);
    expect(row!.truncated_fields).toEqual(['name']);
    expect(row!.truncated_original_bytes).toEqual([200_000]);
  },
  'pb/million-attributes.pb.gz': ([row]) => {
    expect(row!.attr_keys).toHaveLength(128);
    expect(row!.dropped_attributes_count).toBe(1_000_000 - 128);
  },
  'json/million-attributes.json.gz': ([row]) => {
    expect(row!.attr_keys).toHaveLength(128);
    expect(row!.dropped_attributes_count).toBe(1_000_000 - 128);
  },
  'pb/huge-string.pb.gz': ([row]) => {
    const value = (row!.attr_values as string[])[0]!;
    expect(value).toMatch(/^é+…\[truncated \d+ bytes\]$/);
    expect(Buffer.byteLength(value.replace(/….*$/, ''))).toBe(128 * 1024);
    expect(row!.truncated_fields).toEqual(['attributes.prompt']);
    expect(row!.truncated_original_bytes).toEqual([8_000_000]);
  },
  'json/huge-strings.json.gz': ([row]) => {
    for (const text of [row!.name, row!.status_message, (row!.attr_keys as string[])[0], (row!.attr_values as string[])[0], (row!.attr_values as string[])[1]] as string[]) {
      expect(text).toMatch(/…\[truncated \d+ bytes\]$/);
      expect(Buffer.byteLength(text)).toBeLessThan(128 * 1024 + 40);
    }
    expect((row!.attr_types as number[])[1]).toBe(1); // the cut array is stored as its JSON text, a string
    const cutKey = (row!.attr_keys as string[])[0]!;
    expect(row!.truncated_fields).toEqual(['name', 'status.message', `attributes.${cutKey}#key`, `attributes.${cutKey}`, 'attributes.list']);
    const list = JSON.stringify(Array.from({ length: 50_000 }, () => ({ stringValue: 'xxxxxxxxxx' }))); // a span attribute's array is stored as this JSON
    expect(row!.truncated_original_bytes).toEqual([1_000_000, 1_000_000, 500_000, 3_000_000, list.length]);
  },
  'pb/invalid-utf8.pb': ([row]) => expect(row!.name).toContain('\ufffd'),
  'json/invalid-utf8.json': ([row]) => expect(row!.name).toContain('\ufffd'),
  'json/lone-surrogates.json': ([row]) => {
    expect(row!.name).toBe('a\ufffdb');
    expect(row!.attr_keys).toEqual(['k\ufffd']);
    expect(row!.attr_values).toEqual(['😀 ok, \ufffd lone']);
  },
  'json/deep-kvlist-10000.json.gz': ([row]) => expect((row!.attr_values as string[])[0]).toContain('[canopy: nesting too deep]'),
  'json/deep-array-100000.json.gz': ([row]) => expect((row!.attr_values as string[])[0]).toContain('[canopy: nesting too deep]'),
  'pb/deep-kvlist-20.pb': ([row]) => expect((row!.attr_values as string[])[0]).toContain('"leaf"'),
  'pb/timestamps.pb': (rows) => {
    const bySpan = Object.fromEntries(rows.map((r) => [r.span_id, r]));
    expect(bySpan.aa00000000000001).toMatchObject({ duration_ns: '0', start_time_unix_nano: '1700000000010000000', end_time_unix_nano: '1700000000000000000' });
    expect(bySpan.aa00000000000002).toMatchObject({ duration_ns: '0', end_time_unix_nano: '0' });
    expect(bySpan.aa00000000000003).toMatchObject({ end_time_unix_nano: '18446744073709551615' });
  },
  'json/proto-service-name.json': ([row]) => {
    expect(row!.service_name).toBe('__proto__');
    expect(({} as Record<string, unknown>).spans).toBeUndefined(); // nothing leaked onto Object.prototype
  },
};

describe('hostile OTLP corpus (fixtures/hostile)', () => {
  it('has fixtures of every kind the corpus promises', () => {
    const files = manifest.map((e) => e.file).join(' ');
    for (const kind of ['truncated', 'garbage', 'wrong-type', 'bad-ids', 'invalid-utf8', 'deep-kvlist-10000', 'million-attributes', 'huge-string', 'timestamps', 'gzip-bomb', 'brotli', 'empty']) {
      expect(files).toContain(kind);
    }
    expect(manifest.filter((e) => e.file.startsWith('pb/')).length).toBeGreaterThan(15);
    expect(manifest.filter((e) => e.file.startsWith('json/')).length).toBeGreaterThan(15);
  });

  it.each(manifest.map((e) => [e.file, e] as const))('%s', async (_file, entry) => {
    const body = readFileSync(`${FIXTURES}${entry.file}`);
    const answer = await send(body, entry);
    const what = `${entry.file}: ${entry.what}`;
    const rejected = checkAnswer(answer, what);
    expect(answer.status, `${what}\n${answer.status !== 200 ? decodeRpcStatus(answer.format, answer.body).message : ''}`).toBe(entry.status);
    const batches = await newBatches();
    if (entry.status !== 200) {
      expect(batches, what).toHaveLength(0);
      return;
    }
    expect(rejected, what).toBe(entry.rejected ?? 0);
    const rows = rowsOf(batches);
    expect(rows, what).toHaveLength(entry.accepted ?? 0);
    expect(rows.map((r) => r.span_id).sort(), what).toEqual([...(entry.kept ?? [])].sort());
    ROW_CHECKS[entry.file]?.(rows);
  });
});

describe('seeded mutations of the corpus seeds', () => {
  it(`answers ${FUZZ_CASES} mutants (seed ${FUZZ_SEED}) with a 4xx or a 200, promptly, and queues only rows ClickHouse takes`, async () => {
    const seeds = manifest.filter((e) => e.seed).map((e) => ({ entry: e, body: readFileSync(`${FIXTURES}${e.file}`) }));
    expect(seeds.length).toBeGreaterThanOrEqual(2);
    const random = seededRandom(FUZZ_SEED);
    const statuses: Record<number, number> = {};
    for (let i = 0; i < FUZZ_CASES; i++) {
      const seed = seeds[i % seeds.length]!;
      const other = seeds[(i + 1) % seeds.length]!;
      const mutant = mutate(seed.body, other.body, random);
      const what = `mutant ${i} of ${seed.entry.file}: ${mutant.how}`;
      const answer = await send(mutant.body, { contentType: seed.entry.contentType, contentEncoding: mutant.gzip ? 'gzip' : undefined });
      checkAnswer(answer, what);
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      if (answer.status === 200) await newBatches();
    }
    // Both outcomes occur, or the mutations are not testing anything.
    expect(statuses[200], JSON.stringify(statuses)).toBeGreaterThan(FUZZ_CASES / 20);
    expect(statuses[400], JSON.stringify(statuses)).toBeGreaterThan(FUZZ_CASES / 20);
  });
});

describe('after the corpus', () => {
  it('inserts every queued row into ClickHouse: no accepted input can poison a batch', async () => {
    expect(queued.length).toBeGreaterThan(10);
    const rows = queued.map((b) => groupsToJsonEachRow(b.groups)).join('\n');
    await env.clickhouse.insertJsonEachRow('spans', rows);
    const scope = { orgId: queued[0]!.orgId, workspaceIds: [queued[0]!.workspaceId] };
    const [count] = await env.clickhouse.query<{ n: string }>(scope, sql`SELECT count() AS n FROM spans WHERE ${sql.tenant(scope)}`);
    expect(Number(count!.n)).toBe(queued.reduce((n, b) => n + b.spanCount, 0));
    // what the value limit cut reads back from ClickHouse with its true size; the rest read []
    const cut = await env.clickhouse.query<{ f: string[]; b: number[] }>(
      scope,
      sql`SELECT truncated_fields AS f, truncated_original_bytes AS b FROM spans WHERE ${sql.tenant(scope)} AND has(truncated_fields, 'attributes.prompt')`,
    );
    expect(cut).toEqual([{ f: ['attributes.prompt'], b: [8_000_000] }]);
    const [plain] = await env.clickhouse.query<{ n: string }>(scope, sql`SELECT count() AS n FROM spans WHERE ${sql.tenant(scope)} AND empty(truncated_fields)`);
    expect(Number(plain!.n)).toBeGreaterThan(10);
  });

  it('is still healthy and never answered with an internal error', async () => {
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${c.url}/metrics`)).text();
    expect(metrics).not.toMatch(/canopy_collector_request_errors_total\{code="internal"\} [1-9]/);
    expect(metrics).not.toMatch(/canopy_collector_requests_total\{code="5\d\d"\}/);
  });

  it('counts what the limits cut and dropped in its metrics', async () => {
    const metrics = await (await fetch(`${c.url}/metrics`)).text();
    const value = (name: string): number => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    // at least: the over-limits name, the huge string, and the five cuts of huge-strings
    expect(value('canopy_collector_truncated_values_total')).toBeGreaterThanOrEqual(7);
    // the SDK-reported drops (5 on over-limits) are not the limits'
    expect(value('canopy_collector_dropped_attributes_total')).toBeGreaterThanOrEqual(300 - 128 + 2 * (1_000_000 - 128));
    expect(value('canopy_collector_dropped_events_total')).toBeGreaterThanOrEqual(200 - 128);
    expect(value('canopy_collector_dropped_links_total')).toBeGreaterThanOrEqual(150 - 128);
  });
});
