import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { normalizeTraceRequest, type OtlpTraceRequest } from '@canopy/core';
import {
  decodeExportResponse,
  decodeJsonTraceRequest,
  decodeProtobufTraceRequest,
  decodeRpcStatus,
  encodeExportResponse,
  encodeProtobufTraceRequest,
  encodeRpcStatus,
  IngestError,
} from '../src/index.js';
import { span, traceRequest, TRACE_ID } from './helpers.js';

const ctx = { orgId: 'org_1', workspaceId: 'ws_1', batchId: 'batch_1', ingestedAtSec: 1_800_000_000 };
const json = (text: string): OtlpTraceRequest => decodeJsonTraceRequest(Buffer.from(text));
const rows = (request: OtlpTraceRequest): Array<Record<string, unknown>> =>
  normalizeTraceRequest(request, ctx).rows.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

/** Decoding either succeeds and normalization then cannot throw, or fails with an IngestError (a 400). */
function decodesSafely(decode: () => OtlpTraceRequest): 'ok' | 'rejected' {
  let request: OtlpTraceRequest;
  try {
    request = decode();
  } catch (err) {
    expect(err).toBeInstanceOf(IngestError);
    return 'rejected';
  }
  normalizeTraceRequest(request, ctx);
  return 'ok';
}

describe('OTLP/JSON decoding', () => {
  it('quotes long int64 numbers but leaves look-alikes inside strings untouched', () => {
    const request = json(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"0000000000000001",
      "startTimeUnixNano":1700000000000000001,"endTimeUnixNano":1700000000000000002,"name":",\\"timeUnixNano\\":1234567890123456789",
      "events":[{"timeUnixNano":1700000000000000003,"name":"e"}]}]}]}]}`);
    const [row] = rows(request);
    expect(row).toMatchObject({
      start_time_unix_nano: '1700000000000000001',
      end_time_unix_nano: '1700000000000000002',
      events_time_unix_nano: ['1700000000000000003'],
      name: ',"timeUnixNano":1234567890123456789',
    });
  });

  it('keeps short int64 numbers as numbers and still reads them', () => {
    const [row] = rows(json(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"0000000000000001","startTimeUnixNano":5,"endTimeUnixNano":7}]}]}]}`));
    expect(row).toMatchObject({ start_time_unix_nano: '5', end_time_unix_nano: '7', duration_ns: '2' });
  });

  it('ignores unknown fields at every level', () => {
    const request = json(`{"future":1,"resourceSpans":[{"entityRefs":[{"x":1}],"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"0000000000000001",
      "startTimeUnixNano":"1","unknownNested":{"deep":[1,2,{"a":null}]}}]}]}]}`);
    expect(rows(request)).toHaveLength(1);
  });

  it('accepts quoted uint32 counts and a leading byte-order mark', () => {
    const [row] = rows(json(`\uFEFF{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"0000000000000001","startTimeUnixNano":"1","droppedAttributesCount":"3"}]}]}]}`));
    expect(row!.dropped_attributes_count).toBe(3);
  });

  it('does not rename keys of a camelCase payload whose values contain underscores', () => {
    const request = json(JSON.stringify(traceRequest([span(0, { attributes: [{ key: 'http.status_code', value: { stringValue: 'a_b' } }] })])));
    expect(rows(request)[0]).toMatchObject({ attr_keys: ['http.status_code'], attr_values: ['a_b'] });
  });

  it('survives values nested far deeper than normalization reads', () => {
    let value = '{"stringValue":"leaf"}';
    for (let i = 0; i < 2_000; i++) value = `{"arrayValue":{"values":[${value}]}}`;
    const text = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"0000000000000001","startTimeUnixNano":"1","attributes":[{"key":"deep","value":${value}}]}]}]}]}`;
    expect(decodesSafely(() => json(text))).toBe('ok');
  });

  it('rejects or safely reads every field replaced by a value of the wrong type', () => {
    const base = traceRequest([
      span(0, {
        events: [{ timeUnixNano: '1', name: 'e', attributes: [{ key: 'k', value: { intValue: '1' } }] }],
        links: [{ traceId: TRACE_ID, spanId: '0000000000000009', attributes: [{ key: 'k', value: { kvlistValue: { values: [{ key: 'a', value: { arrayValue: { values: [{ boolValue: true }] } } }] } } }] }],
      }),
    ]);
    const wrong: unknown[] = [5, -1.5, 'x', '', true, null, [], {}, [null], [5], ['x'], [[]], { values: 5 }];
    const paths: Array<Array<string | number>> = [];
    const collect = (node: unknown, path: Array<string | number>): void => {
      if (node === null || typeof node !== 'object') return;
      for (const [k, v] of Object.entries(node)) {
        const p = [...path, Array.isArray(node) ? Number(k) : k];
        paths.push(p);
        collect(v, p);
      }
    };
    collect(base, []);
    expect(paths.length).toBeGreaterThan(60);
    let rejected = 0;
    for (const path of paths) {
      for (const value of wrong) {
        const copy = structuredClone(base) as unknown as Record<string | number, unknown>;
        let node = copy;
        for (const segment of path.slice(0, -1)) node = node[segment] as Record<string | number, unknown>;
        node[path.at(-1)!] = value;
        if (decodesSafely(() => json(JSON.stringify(copy))) === 'rejected') rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(paths.length);
  });

  it('names the path of a wrongly typed field', () => {
    expect(() => json('{"resourceSpans":[{"scopeSpans":[{"spans":[{},{"events":[{"attributes":{}}]}]}]}]}')).toThrow(
      /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\]\.events\[0\]\.attributes: expected an array, got object/,
    );
  });
});

describe('OTLP/protobuf decoding', () => {
  it('round-trips a request through the encoder with exact 64-bit values', () => {
    // The largest uint64 as an end time: a start that far ahead would be refused as in the future.
    const request = traceRequest([span(0, { endTimeUnixNano: '18446744073709551615', attributes: [{ key: 'i', value: { intValue: '-9223372036854775808' } }] })]);
    const [row] = rows(decodeProtobufTraceRequest(encodeProtobufTraceRequest(request)));
    expect(row).toMatchObject({ trace_id: TRACE_ID, end_time_unix_nano: '18446744073709551615', duration_ns: '16746744073709551615', attr_values: ['-9223372036854775808'] });
  });

  it('rejects random bytes with an IngestError or reads them without crashing normalization', () => {
    for (let i = 0; i < 2_000; i++) decodesSafely(() => decodeProtobufTraceRequest(randomBytes(1 + (i % 200))));
  });

  it('rejects or safely reads a valid payload with bytes flipped', () => {
    const valid = encodeProtobufTraceRequest(traceRequest([span(0), span(1, { links: [{ traceId: TRACE_ID, spanId: '0000000000000002' }] })]));
    let rejected = 0;
    for (let i = 0; i < valid.length; i++) {
      const copy = Buffer.from(valid);
      copy[i] = copy[i]! ^ 0xa5;
      if (decodesSafely(() => decodeProtobufTraceRequest(copy)) === 'rejected') rejected++;
    }
    expect(rejected).toBeGreaterThan(0);
  });
});

describe('responses', () => {
  it('encodes full success as an empty body (protobuf) and {} (JSON)', () => {
    expect(encodeExportResponse('protobuf', null)).toMatchObject({ contentType: 'application/x-protobuf', body: Buffer.alloc(0) });
    expect(encodeExportResponse('json', null).body.toString()).toBe('{}');
  });

  it('encodes partial success with rejectedSpans as an int64 (a string in JSON)', () => {
    const partial = { rejectedSpans: 2, errorMessage: 'two bad spans' };
    expect(JSON.parse(encodeExportResponse('json', partial).body.toString())).toEqual({ partialSuccess: { rejectedSpans: '2', errorMessage: 'two bad spans' } });
    expect(decodeExportResponse('protobuf', encodeExportResponse('protobuf', partial).body)).toEqual({ partialSuccess: { rejectedSpans: '2', errorMessage: 'two bad spans' } });
  });

  it('encodes google.rpc.Status in both encodings', () => {
    for (const format of ['protobuf', 'json'] as const) {
      expect(decodeRpcStatus(format, encodeRpcStatus(format, { code: 3, message: 'bad' }).body)).toEqual({ code: 3, message: 'bad' });
    }
  });
});
