import { describe, expect, it } from 'vitest';
import Long from 'long';
import { decodeStoredAttributes, groupsToJsonEachRow, normalizeTraceRequest, type OtlpTraceRequest } from '../src/index.js';

const ctx = { orgId: 'org_a', workspaceId: 'ws_a', batchId: 'batch_1', ingestedAtSec: 1_800_000_000 };

function request(span: Record<string, unknown>, resourceAttrs: unknown[] = [{ key: 'service.name', value: { stringValue: 'checkout' } }]): OtlpTraceRequest {
  return { resourceSpans: [{ resource: { attributes: resourceAttrs }, scopeSpans: [{ scope: { name: 'lib', version: '1.2' }, spans: [span] }] }] } as OtlpTraceRequest;
}

const jsonSpan = {
  traceId: '5b8efff798038103d269b633813fc60c',
  spanId: 'eee19b7ec3c1b174',
  parentSpanId: 'eee19b7ec3c1b173',
  name: 'GET /cart',
  kind: 2,
  startTimeUnixNano: '1700000000123456789',
  endTimeUnixNano: '1700000000223456789',
  attributes: [
    { key: 's', value: { stringValue: 'x' } },
    { key: 'b', value: { boolValue: false } },
    { key: 'i', value: { intValue: '-9223372036854775808' } },
    { key: 'd', value: { doubleValue: 2.5 } },
    { key: 'y', value: { bytesValue: 'AAEC' } },
    { key: 'a', value: { arrayValue: { values: [{ intValue: 1 }, { stringValue: 'two' }] } } },
    { key: 'k', value: { kvlistValue: { values: [{ key: 'inner', value: { boolValue: true } }] } } },
  ],
  status: { code: 2, message: 'payment failed' },
};

const parse = (rows: string): Record<string, unknown>[] => rows.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('normalizeTraceRequest', () => {
  it('tags rows with the tenant from the caller, not from the payload', () => {
    const r = normalizeTraceRequest(request(jsonSpan, [{ key: 'org_id', value: { stringValue: 'evil' } }]), ctx);
    const [row] = parse(r.rows);
    expect(row).toMatchObject({ org_id: 'org_a', workspace_id: 'ws_a', batch_id: 'batch_1', service_name: 'unknown_service' });
  });

  it('keeps ids, exact nanosecond times, status and every attribute kind', () => {
    const r = normalizeTraceRequest(request(jsonSpan), ctx);
    expect(r.accepted).toBe(1);
    const [row] = parse(r.rows);
    expect(row).toMatchObject({
      trace_id: '5b8efff798038103d269b633813fc60c',
      span_id: 'eee19b7ec3c1b174',
      parent_span_id: 'eee19b7ec3c1b173',
      start_time_unix_nano: '1700000000123456789',
      duration_ns: '100000000',
      timestamp: 1700000000,
      status_code: 2,
      status_message: 'payment failed',
      service_name: 'checkout',
      scope_name: 'lib',
      scope_version: '1.2',
    });
    const attrs = decodeStoredAttributes(row!.attr_keys as string[], row!.attr_types as number[], row!.attr_values as string[]);
    expect(attrs).toEqual({ s: 'x', b: false, i: '-9223372036854775808', d: 2.5, y: 'AAEC', a: [1, 'two'], k: { inner: true } });
    expect(row!.size_bytes).toBe(r.bytes);
  });

  it('reads protobuf-decoded messages (bytes ids, Long timestamps) the same as JSON', () => {
    const start = Long.fromString('1700000000123456789', true);
    const end = Long.fromString('1700000000223456789', true);
    const pbSpan = {
      ...jsonSpan,
      traceId: Buffer.from(jsonSpan.traceId, 'hex'),
      spanId: Buffer.from(jsonSpan.spanId, 'hex'),
      parentSpanId: Buffer.from(jsonSpan.parentSpanId, 'hex'),
      startTimeUnixNano: start,
      endTimeUnixNano: end,
      attributes: [
        { key: 'i', value: { intValue: Long.fromString('-9223372036854775808') } },
        { key: 'y', value: { bytesValue: Buffer.from([0, 1, 2]) } },
      ],
    };
    const [pb] = parse(normalizeTraceRequest(request(pbSpan), ctx).rows);
    const [js] = parse(normalizeTraceRequest(request({ ...jsonSpan, attributes: jsonSpan.attributes.filter((a) => a.key === 'i' || a.key === 'y') }), ctx).rows);
    expect(pb).toEqual(js);
  });

  it('rejects invalid spans and keeps the valid ones beside them', () => {
    const req = request(jsonSpan);
    const spans = req.resourceSpans![0]!.scopeSpans![0]!.spans!;
    spans.push({ ...jsonSpan, traceId: '5b8efff798038103d269b633813fc6' });
    spans.push({ ...jsonSpan, spanId: '0000000000000000' });
    spans.push({ ...jsonSpan, startTimeUnixNano: '0' });
    spans.push({ ...jsonSpan, kind: 9 });
    const r = normalizeTraceRequest(req, ctx);
    expect(r.accepted).toBe(1);
    expect(r.rejected).toBe(4);
    expect(r.rejectedBy).toEqual({ invalid_trace_id: 1, invalid_span_id: 1, invalid_timestamp: 1, invalid_kind: 1 });
  });

  it('accepts enum names and treats an all-zero parent id as a root', () => {
    const [row] = parse(normalizeTraceRequest(request({ ...jsonSpan, kind: 'SPAN_KIND_CLIENT', parentSpanId: '0000000000000000', status: { code: 'STATUS_CODE_OK' } }), ctx).rows);
    expect(row).toMatchObject({ kind: 3, parent_span_id: '', status_code: 1 });
  });

  it('sums usage per service in the bytes of the stored rows', () => {
    const r = normalizeTraceRequest(request(jsonSpan), ctx);
    expect(r.usageByService).toEqual({ checkout: { spans: 1, bytes: r.bytes } });
    expect(r.bytes).toBe(Buffer.byteLength(r.rows));
  });

  it('counts the truncation columns of a row with a cut value in its size, and reports the cut', () => {
    const limits = { maxAttributesPerSpan: 128, maxAttributeValueBytes: 64, maxEventsPerSpan: 128, maxLinksPerSpan: 128, maxFutureSeconds: 86_400 * 365 * 100 };
    const r = normalizeTraceRequest(request({ ...jsonSpan, attributes: [{ key: 'prompt', value: { stringValue: 'é'.repeat(100) } }] }), { ...ctx, limits });
    const [row] = parse(r.rows);
    expect(row).toMatchObject({ truncated_fields: ['attributes.prompt'], truncated_original_bytes: [200], size_bytes: Buffer.byteLength(r.rows) });
    expect(r.bytes).toBe(Buffer.byteLength(r.rows));
    expect(r.limited.truncatedValues).toBe(1);
  });
});

describe('normalizeTraceRequest with protobufjs prototype defaults', () => {
  it('treats an absent bytes field (an empty Array on the prototype) as empty', () => {
    const proto = { parentSpanId: [] as unknown as Uint8Array };
    const span = Object.assign(Object.create(proto) as Record<string, unknown>, {
      ...jsonSpan,
      traceId: Buffer.from(jsonSpan.traceId, 'hex'),
      spanId: Buffer.from(jsonSpan.spanId, 'hex'),
    });
    delete span.parentSpanId;
    const [row] = parse(normalizeTraceRequest(request(span), ctx).rows);
    expect(row).toMatchObject({ parent_span_id: '', span_id: jsonSpan.spanId });
  });
});

describe('64-bit conversions and grouped rows', () => {
  it('converts Long bits to the exact decimal BigInt would give', async () => {
    const { longBitsToDecimal } = await import('../src/otlp/scalars.js');
    const samples = [0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 1_700_000_000_123_456_789n, 2n ** 64n - 1n, 999_999n * 2n ** 32n + 999_999n];
    for (let i = 0; i < 2000; i++) samples.push(BigInt.asUintN(64, BigInt(Math.floor(Math.random() * 2 ** 32)) * 2n ** 32n + BigInt(Math.floor(Math.random() * 2 ** 32))));
    for (const v of samples) expect(longBitsToDecimal(Number(v >> 32n), Number(v & 0xffffffffn))).toBe(v.toString());
  });

  it('expands groups into rows without reading `$` in shared columns as a pattern', () => {
    const r = normalizeTraceRequest(request(jsonSpan, [{ key: 'service.name', value: { stringValue: 'cost$&$1' } }]), ctx);
    const spans = r.groups[0]!.spans;
    r.groups[0]!.spans = `${spans}\n${spans.replace(jsonSpan.spanId, 'aaaaaaaaaaaaaaaa')}`;
    const rows = parse(groupsToJsonEachRow(r.groups));
    expect(rows.map((x) => x.service_name)).toEqual(['cost$&$1', 'cost$&$1']);
    expect(rows.map((x) => x.span_id)).toEqual([jsonSpan.spanId, 'aaaaaaaaaaaaaaaa']);
  });
});
