import { describe, expect, it } from 'vitest';
import {
  capText,
  decodeStoredAttributes,
  DEFAULT_SPAN_LIMITS,
  describeRejections,
  loadConfig,
  normalizeTraceRequest,
  toWellFormed,
  type OtlpAnyValue,
  type OtlpTraceRequest,
  type SpanLimits,
} from '../../src/index.js';

const NOW_SEC = 1_800_000_000;
const ctx = { orgId: 'org_a', workspaceId: 'ws_a', batchId: 'batch_1', ingestedAtSec: NOW_SEC };
const START = `${NOW_SEC - 60}000000000`;

function span(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'op', kind: 2, startTimeUnixNano: START, endTimeUnixNano: START, ...extra };
}

function request(spans: Array<Record<string, unknown>>, extra: { resource?: unknown; scope?: unknown } = {}): OtlpTraceRequest {
  return {
    resourceSpans: [{ resource: extra.resource ?? { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }, scopeSpans: [{ scope: extra.scope ?? { name: 'lib' }, spans }] }],
  } as OtlpTraceRequest;
}

type Row = Record<string, unknown>;
function rowsOf(req: OtlpTraceRequest, limits?: SpanLimits): Row[] {
  const r = normalizeTraceRequest(req, { ...ctx, ...(limits ? { limits } : {}) });
  return r.accepted ? r.rows.split('\n').map((l) => JSON.parse(l) as Row) : [];
}
const only = (req: OtlpTraceRequest, limits?: SpanLimits): Row => {
  const rows = rowsOf(req, limits);
  expect(rows).toHaveLength(1);
  return rows[0]!;
};

const attrs = (n: number, value: (i: number) => OtlpAnyValue = () => ({ stringValue: 'v' })) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: value(i) }));
const small: SpanLimits = { ...DEFAULT_SPAN_LIMITS, maxAttributesPerSpan: 3, maxAttributeValueBytes: 16, maxEventsPerSpan: 2, maxLinksPerSpan: 1 };

describe('capText', () => {
  it('returns short text unchanged (the same string)', () => {
    const s = 'hello';
    expect(capText(s, 16)).toBe(s);
    expect(capText('é'.repeat(8), 16)).toBe('é'.repeat(8)); // 16 bytes exactly
  });

  it('cuts to the byte limit on a character boundary and says how much was cut', () => {
    expect(capText('abcdefghij', 4)).toBe('abcd…[truncated 6 bytes]');
    expect(capText('ééééé', 5)).toBe('éé…[truncated 6 bytes]'); // never half of a 2-byte é
    expect(capText('😀😀', 5)).toBe('😀…[truncated 4 bytes]'); // never half of a surrogate pair
    expect(capText('€€', 2)).toBe('…[truncated 6 bytes]');
  });
});

describe('per-span limits', () => {
  it('keeps the first maxAttributesPerSpan attributes and adds the rest to what the client dropped', () => {
    const row = only(request([span({ attributes: attrs(10), droppedAttributesCount: 4 })]), small);
    expect(row.attr_keys).toEqual(['k0', 'k1', 'k2']);
    expect(row.attr_values).toEqual(['v', 'v', 'v']);
    expect(row.dropped_attributes_count).toBe(4 + 7);
  });

  it('uses the OpenTelemetry SDK defaults: 128 attributes, events and links per span', () => {
    const row = only(
      request([span({ attributes: attrs(200), events: Array.from({ length: 130 }, () => ({ name: 'e', timeUnixNano: START })), links: Array.from({ length: 129 }, () => ({ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8) })) })]),
    );
    expect(row.attr_keys).toHaveLength(128);
    expect(row.dropped_attributes_count).toBe(72);
    expect(row.events_name).toHaveLength(128);
    expect(row.dropped_events_count).toBe(2);
    expect(row.links_span_id).toHaveLength(128);
    expect(row.dropped_links_count).toBe(1);
  });

  it('cuts long values, keys, names and messages with a marker instead of rejecting the span', () => {
    const row = only(
      request([
        span({
          name: 'n'.repeat(20),
          traceState: 't'.repeat(20),
          status: { code: 2, message: 'm'.repeat(20) },
          attributes: [
            { key: 'long', value: { stringValue: 'x'.repeat(40) } },
            { key: 'k'.repeat(20), value: { intValue: '1' } },
          ],
        }),
      ]),
      small,
    );
    expect(row.name).toBe(`${'n'.repeat(16)}…[truncated 4 bytes]`);
    expect(row.trace_state).toBe(`${'t'.repeat(16)}…[truncated 4 bytes]`);
    expect(row.status_message).toBe(`${'m'.repeat(16)}…[truncated 4 bytes]`);
    expect(row.attr_values).toEqual([`${'x'.repeat(16)}…[truncated 24 bytes]`, '1']);
    expect(row.attr_types).toEqual([1, 3]);
    expect(row.attr_keys).toEqual(['long', `${'k'.repeat(16)}…[truncated 4 bytes]`]);
  });

  it('stores an array, kvlist or bytes value cut by the limit as a string, so it never reads as broken JSON', () => {
    const row = only(
      request([
        span({
          attributes: [
            { key: 'a', value: { arrayValue: { values: attrs(10).map((kv) => kv.value) } } },
            { key: 'kv', value: { kvlistValue: { values: attrs(10) } } },
            { key: 'b', value: { bytesValue: 'A'.repeat(60) } },
            { key: 'ok', value: { arrayValue: { values: [{ intValue: '1' }] } } },
          ],
        }),
      ]),
      { ...small, maxAttributesPerSpan: 10, maxAttributeValueBytes: 32 },
    );
    expect(row.attr_types).toEqual([1, 1, 1, 6]);
    const decoded = decodeStoredAttributes(row.attr_keys as string[], row.attr_types as number[], row.attr_values as string[]);
    expect(decoded.a).toMatch(/^\[\{"stringValue":"v"\}.*…\[truncated \d+ bytes\]$/);
    expect(decoded.ok).toEqual([1]);
  });

  it('limits event and link attributes and texts, counting what was dropped per event and link', () => {
    const row = only(
      request([
        span({
          events: [
            { name: 'e'.repeat(20), timeUnixNano: START, attributes: attrs(5, () => ({ stringValue: 'y'.repeat(20) })), droppedAttributesCount: 1 },
            { name: 'second', timeUnixNano: START },
            { name: 'third', timeUnixNano: START },
          ],
          droppedEventsCount: 10,
          links: [
            { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceState: 's'.repeat(20), attributes: attrs(4) },
            { traceId: 'ab'.repeat(16), spanId: 'ef'.repeat(8) },
          ],
        }),
      ]),
      small,
    );
    expect(row.events_name).toEqual([`${'e'.repeat(16)}…[truncated 4 bytes]`, 'second']);
    expect(row.dropped_events_count).toBe(11);
    expect(row.events_dropped_attributes_count).toEqual([1 + 2, 0]);
    const eventAttrs = JSON.parse((row.events_attributes as string[])[0]!) as Array<{ key: string; value: { stringValue: string } }>;
    expect(eventAttrs).toHaveLength(3);
    expect(eventAttrs[0]!.value.stringValue).toBe(`${'y'.repeat(16)}…[truncated 4 bytes]`);
    expect(row.links_span_id).toEqual(['cd'.repeat(8)]);
    expect(row.links_trace_state).toEqual([`${'s'.repeat(16)}…[truncated 4 bytes]`]);
    expect(row.links_dropped_attributes_count).toEqual([1]);
    expect(JSON.parse((row.links_attributes as string[])[0]!)).toHaveLength(3);
    expect(row.dropped_links_count).toBe(1);
  });

  it('limits resource and scope attributes too', () => {
    const row = only(
      request([span()], {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 's'.repeat(20) } }, ...attrs(5)], droppedAttributesCount: 2 },
        scope: { name: 'lib', attributes: attrs(5), droppedAttributesCount: 1 },
      }),
      small,
    );
    expect(row.service_name).toBe(`${'s'.repeat(16)}…[truncated 4 bytes]`);
    expect(row.resource_keys).toEqual(['service.name', 'k0', 'k1']);
    expect(row.resource_dropped_attributes_count).toBe(2 + 3);
    expect(JSON.parse(row.scope_attributes as string)).toHaveLength(3);
    expect(row.scope_dropped_attributes_count).toBe(1 + 2);
  });

  it('names every field the value limit cut in the row, with its UTF-8 size as sent', () => {
    const row = only(
      request(
        [
          span({
            name: 'n'.repeat(20),
            traceState: 't'.repeat(17),
            status: { code: 2, message: 'é'.repeat(10) },
            attributes: [
              { key: 'fits', value: { stringValue: 'x'.repeat(16) } },
              { key: 'long', value: { stringValue: 'x'.repeat(40) } },
              { key: 'k'.repeat(20), value: { stringValue: 'y'.repeat(30) } },
            ],
            events: [{ name: 'ok', timeUnixNano: START }, { name: 'e'.repeat(18), timeUnixNano: START, attributes: [{ key: 'ea', value: { arrayValue: { values: attrs(3).map((kv) => kv.value) } } }] }],
            links: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceState: 's'.repeat(19), attributes: [{ key: 'lb', value: { bytesValue: 'A'.repeat(24) } }] }],
          }),
        ],
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }, { key: 'host', value: { stringValue: 'h'.repeat(21) } }] },
          scope: { name: 'lib'.repeat(6), version: '1', attributes: [{ key: 'sa', value: { stringValue: 'z'.repeat(22) } }] },
        },
      ),
      small,
    );
    const cutKey = `${'k'.repeat(16)}…[truncated 4 bytes]`;
    expect(row.truncated_fields).toEqual([
      'resource.host',
      'scope.name',
      'scope.attributes.sa',
      'traceState',
      'name',
      'status.message',
      'attributes.long',
      `attributes.${cutKey}#key`,
      `attributes.${cutKey}`,
      'events.1.attributes.ea',
      'events.1.name',
      'links.0.attributes.lb',
      'links.0.traceId', // 32 hex digits, over this test's 16-byte limit (the setting's least is 64)
      'links.0.traceState',
    ]);
    const arrayJson = JSON.stringify({ arrayValue: { values: attrs(3).map((kv) => kv.value) } }); // an array's size is its JSON text's
    expect(row.truncated_original_bytes).toEqual([21, 18, 22, 17, 20, 20, 40, 20, 30, arrayJson.length, 18, 24, 32, 19]);
    // the stored text still carries the marker; the row now says so as well
    expect(row.name).toBe(`${'n'.repeat(16)}…[truncated 4 bytes]`);
  });

  it('gives every row of a resource and scope their cuts, and rows without a cut no truncation columns at all', () => {
    const r = normalizeTraceRequest(
      request([span({ spanId: 'aaaaaaaaaaaaaaa1' }), span({ spanId: 'aaaaaaaaaaaaaaa2', name: 'n'.repeat(17) })], {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 's'.repeat(20) } }] },
      }),
      { ...ctx, limits: small },
    );
    const rows = r.rows.split('\n').map((l) => JSON.parse(l) as Row);
    expect(rows.map((x) => x.truncated_fields)).toEqual([['resource.service.name'], ['resource.service.name', 'name']]);
    expect(rows.map((x) => x.truncated_original_bytes)).toEqual([[20], [20, 17]]);
    // ClickHouse fills omitted columns with [], so the usual row costs not a byte more
    const plain = normalizeTraceRequest(request([span({ attributes: attrs(3) })]), ctx);
    expect(plain.rows).not.toContain('truncated');
    expect(plain.limited).toEqual({ truncatedValues: 0, droppedAttributes: 0, droppedEvents: 0, droppedLinks: 0 });
  });

  it('tallies what the limits took from the accepted spans, and nothing from rejected ones', () => {
    const r = normalizeTraceRequest(
      request(
        [
          span({
            spanId: 'aaaaaaaaaaaaaaa1',
            name: 'n'.repeat(20),
            attributes: attrs(5),
            droppedAttributesCount: 100, // the SDK's own drops are not the limits'
            events: [{ name: 'a', timeUnixNano: START, attributes: attrs(4) }, { name: 'b', timeUnixNano: START }, { name: 'c', timeUnixNano: START }],
            links: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8) }, { traceId: 'ab'.repeat(16), spanId: 'ef'.repeat(8) }],
          }),
          span({ spanId: 'aaaaaaaaaaaaaaa2' }),
          span({ spanId: '00', name: 'n'.repeat(20), attributes: attrs(9) }), // rejected
        ],
        { scope: { name: 'lib', attributes: attrs(4) } },
      ),
      { ...ctx, limits: small },
    );
    expect(r.accepted).toBe(2);
    // the name and the kept link's 32-digit trace id (over the 16-byte test limit); attributes: the
    // span's 2, the first event's 1 and the scope's 1 on each of the two rows
    expect(r.limited).toEqual({ truncatedValues: 2, droppedAttributes: 2 + 1 + 2, droppedEvents: 1, droppedLinks: 1 });
  });

  it('never lets a dropped count overflow its UInt32 column', () => {
    const row = only(request([span({ attributes: attrs(10), droppedAttributesCount: 4294967295 })]), small);
    expect(row.dropped_attributes_count).toBe(4294967295);
  });

  it('takes a million attributes on one span in a few seconds at most, reading only the kept ones', () => {
    const started = performance.now();
    const row = only(request([span({ attributes: attrs(1_000_000) })]));
    expect(row.dropped_attributes_count).toBe(1_000_000 - 128);
    expect(performance.now() - started).toBeLessThan(5_000); // ~0.4 s on an idle core
  });

  it('reads the limits from the configuration', () => {
    const config = loadConfig({ CANOPY_MAX_ATTRIBUTES_PER_SPAN: '7', CANOPY_MAX_ATTRIBUTE_VALUE_BYTES: '100', CANOPY_MAX_EVENTS_PER_SPAN: '0', CANOPY_MAX_LINKS_PER_SPAN: '3' });
    expect(config.collector.spanLimits).toEqual({ ...DEFAULT_SPAN_LIMITS, maxAttributesPerSpan: 7, maxAttributeValueBytes: 100, maxEventsPerSpan: 0, maxLinksPerSpan: 3 });
    expect(loadConfig({}).collector.spanLimits).toEqual(DEFAULT_SPAN_LIMITS);
  });
});

describe('timestamps', () => {
  it('refuses a span starting more than a day after the request arrived, and keeps one within the day', () => {
    const req = request([span({ spanId: 'aaaaaaaaaaaaaaa1', startTimeUnixNano: `${NOW_SEC + 86_401}000000000` }), span({ spanId: 'aaaaaaaaaaaaaaa2', startTimeUnixNano: `${NOW_SEC + 3_600}000000000` })]);
    const r = normalizeTraceRequest(req, ctx);
    expect(r.accepted).toBe(1);
    expect(r.rejectedBy).toEqual({ timestamp_in_future: 1 });
    expect(describeRejections(r.rejectedBy)).toMatch(/1 span\(s\) timestamp_in_future: start_time_unix_nano is more than 24 h after/);
  });

  it('refuses a zero start', () => {
    expect(normalizeTraceRequest(request([span({ startTimeUnixNano: '0' })]), ctx).rejectedBy).toEqual({ invalid_timestamp: 1 });
  });

  it('keeps a span that ends before it starts, with duration 0 and the end as sent', () => {
    const row = only(request([span({ startTimeUnixNano: `${NOW_SEC}000000005`, endTimeUnixNano: `${NOW_SEC}000000001` })]));
    expect(row).toMatchObject({ duration_ns: '0', start_time_unix_nano: `${NOW_SEC}000000005`, end_time_unix_nano: `${NOW_SEC}000000001` });
  });

  it('keeps a span without an end, with duration 0', () => {
    expect(only(request([span({ endTimeUnixNano: undefined })]))).toMatchObject({ duration_ns: '0', end_time_unix_nano: '0' });
  });
});

describe('hostile shapes', () => {
  it('normalizes a kvlist nested 10 000 levels deep without recursing through it', () => {
    let value: OtlpAnyValue = { stringValue: 'leaf' };
    for (let i = 0; i < 10_000; i++) value = { kvlistValue: { values: [{ key: 'k', value }] } };
    const row = only(request([span({ attributes: [{ key: 'deep', value }], events: [{ name: 'e', timeUnixNano: START, attributes: [{ key: 'deep', value }] }] })]));
    expect((row.attr_values as string[])[0]).toContain('[canopy: nesting too deep]');
    expect((row.events_attributes as string[])[0]).toContain('[canopy: nesting too deep]');
  });

  it('treats a service called __proto__ as a name, not as Object.prototype', () => {
    const r = normalizeTraceRequest(request([span()], { resource: { attributes: [{ key: 'service.name', value: { stringValue: '__proto__' } }] } }), ctx);
    expect(r.usageByService.__proto__).toEqual({ spans: 1, bytes: r.bytes });
    expect(({} as Record<string, unknown>).spans).toBeUndefined();
  });

  it('reads back an attribute named __proto__ as an attribute', () => {
    const decoded = decodeStoredAttributes(['__proto__', 'a'], [1, 1], ['x', 'y']);
    expect(Object.keys(decoded)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
  });

  it('mends lone surrogates and leaves pairs alone', () => {
    expect(toWellFormed('a\ud800b\udc00c😀')).toBe('a\ufffdb\ufffdc😀');
    expect(toWellFormed('\ud83d')).toBe('\ufffd');
  });

  it('stores an int64 written as a JSON number beyond 64 bits as text, not as a bogus int', () => {
    const row = only(request([span({ attributes: [{ key: 'big', value: { intValue: 1e30 } }] })]));
    expect(row.attr_types).toEqual([1]);
  });
});
