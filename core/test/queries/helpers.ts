import { randomBytes } from 'node:crypto';
import { normalizeTraceRequest, type OtlpAnyValue, type OtlpKeyValue, type OtlpSpan, type OtlpTraceRequest, type TenantScope } from '../../src/index.js';
import type { TestEnv } from '../../src/testing/index.js';

/** An attribute value as a test writes it; `{ double: 3 }` forces a double, `{ int: '9007199254740993' }` a big int. */
export type AttrValue = string | number | boolean | { double: number } | { int: string } | { bytes: string } | AttrValue[] | { kv: Record<string, AttrValue> };

export function anyValue(v: AttrValue): OtlpAnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: v } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  if ('double' in v) return { doubleValue: v.double };
  if ('int' in v) return { intValue: v.int };
  if ('bytes' in v) return { bytesValue: v.bytes };
  return { kvlistValue: { values: keyValues(v.kv) } };
}

export const keyValues = (attrs: Record<string, AttrValue> = {}): OtlpKeyValue[] => Object.entries(attrs).map(([key, value]) => ({ key, value: anyValue(value) }));

export interface SpanSpec {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  /** start in ms since epoch (fractions allowed) */
  startMs: number;
  durationMs: number;
  status?: 'unset' | 'ok' | 'error';
  statusMessage?: string;
  kind?: number;
  attrs?: Record<string, AttrValue>;
  resource?: Record<string, AttrValue>;
  events?: OtlpSpan['events'];
  links?: OtlpSpan['links'];
  scope?: { name: string; version?: string; attributes?: Record<string, AttrValue> };
}

export const hexId = (bytes: number): string => randomBytes(bytes).toString('hex');
export const newTraceId = (): string => hexId(16);
export const newSpanId = (): string => hexId(8);

const nanos = (ms: number): string => (BigInt(Math.round(ms * 1000)) * 1000n).toString();
const STATUS = { unset: 0, ok: 1, error: 2 } as const;

/** OTLP request with one resource per (service, resource attributes, scope) combination. */
export function otlpRequest(specs: readonly SpanSpec[]): OtlpTraceRequest {
  const groups = new Map<string, SpanSpec[]>();
  for (const s of specs) {
    const k = JSON.stringify([s.service, s.resource ?? {}, s.scope ?? null]);
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  return {
    resourceSpans: [...groups.values()].map((group) => {
      const first = group[0]!;
      return {
        resource: { attributes: keyValues({ 'service.name': first.service, ...(first.resource ?? {}) }) },
        scopeSpans: [
          {
            scope: first.scope ? { name: first.scope.name, version: first.scope.version ?? '', attributes: keyValues(first.scope.attributes) } : { name: 'test' },
            spans: group.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: s.kind ?? 1,
              startTimeUnixNano: nanos(s.startMs),
              endTimeUnixNano: nanos(s.startMs + s.durationMs),
              attributes: keyValues(s.attrs),
              status: { code: STATUS[s.status ?? 'unset'], message: s.statusMessage ?? '' },
              events: s.events ?? [],
              links: s.links ?? [],
            })),
          },
        ],
      };
    }),
  };
}

/** Writes spans exactly as the pipeline does: normalize, then one JSONEachRow insert. */
export async function insertSpans(
  env: TestEnv,
  target: { orgId: string; workspaceId: string; ingestedAtSec?: number },
  specs: readonly SpanSpec[],
): Promise<{ accepted: number; bytes: number }> {
  const result = normalizeTraceRequest(otlpRequest(specs), {
    orgId: target.orgId,
    workspaceId: target.workspaceId,
    batchId: hexId(8),
    ingestedAtSec: target.ingestedAtSec ?? Math.floor(Date.now() / 1000),
  });
  if (result.rejected) throw new Error(`test spans rejected: ${JSON.stringify(result.rejectedBy)}`);
  if (result.accepted) await env.clickhouse.insertJsonEachRow('spans', result.rows);
  return { accepted: result.accepted, bytes: result.bytes };
}

export const scopeOf = (orgId: string, ...workspaceIds: string[]): TenantScope => ({ orgId, workspaceIds });

/** A fixed hour in the past, on a whole hour, so buckets and ranges are predictable. */
export const BASE_MS = Date.UTC(2026, 10, 2, 10, 0, 0);

/** "0.0010000004" → pico-USD, exactly, for summing money in tests. */
export function usdToPico(usd: string): bigint {
  const m = /^(\d+)\.(\d{1,12})$/.exec(usd);
  if (!m) throw new Error(`not a USD amount: ${usd}`);
  return BigInt(m[1]!) * 10n ** 12n + BigInt(m[2]!.padEnd(12, '0'));
}

/** A strict RFC 4180 reader (CRLF records, "" escapes) for checking CSV exports: rows of cells. */
export function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === ',') row.push(cell), (cell = '');
    else if (ch === '\r' && text[i + 1] === '\n') row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
    else if (ch === '\n' || ch === '\r' || ch === '"') throw new Error(`bare ${JSON.stringify(ch)} at ${i}`);
    else cell += ch;
  }
  if (quoted || cell !== '' || row.length) throw new Error('CSV does not end with CRLF');
  return rows;
}

/** CSV text → one object per data row, keyed by the header. */
export function csvRecords(text: string): Array<Record<string, string>> {
  const [header, ...rows] = readCsv(text);
  return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i] ?? ''])));
}
