import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ValueType } from '@canopy/core';
import { createTestEnv, createTestOrg, type TestEnv } from '@canopy/core/testing';
import { decodeExportResponse } from '../src/index.js';
import { bytesOf, CONTENT_TYPE, encodeRequest, postTraces, rowsOf, span, startCollector, traceRequest, TRACE_ID, type Encoding, type RunningCollector } from './helpers.js';

let env: TestEnv;
let org: Awaited<ReturnType<typeof createTestOrg>>;
let c: RunningCollector;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  org = await createTestOrg(env, ['dev', 'prod']);
  key = org.workspaces.prod!.ingestKey.key;
  c = await startCollector(env);
});

afterAll(async () => {
  await c?.close();
  await env?.cleanup();
});

beforeEach(async () => {
  await c.queue.queue.drain();
});

/** The specification's own example, opentelemetry-proto examples/trace.json, byte for byte. */
const SPEC_EXAMPLE = `{
  "resourceSpans": [
    {
      "resource": {
        "attributes": [
          {
            "key": "service.name",
            "value": {
              "stringValue": "my.service"
            }
          }
        ]
      },
      "scopeSpans": [
        {
          "scope": {
            "name": "my.library",
            "version": "1.0.0",
            "attributes": [
              {
                "key": "my.scope.attribute",
                "value": {
                  "stringValue": "some scope attribute"
                }
              }
            ]
          },
          "spans": [
            {
              "traceId": "5B8EFFF798038103D269B633813FC60C",
              "spanId": "EEE19B7EC3C1B174",
              "parentSpanId": "EEE19B7EC3C1B173",
              "name": "I'm a server span",
              "startTimeUnixNano": 1544712660000000000,
              "endTimeUnixNano": 1544712661000000000,
              "kind": 2,
              "attributes": [
                {
                  "key": "my.span.attr",
                  "value": {
                    "stringValue": "some value"
                  }
                }
              ]
            }
          ]
        }
      ]
    }
  ]
}`;

describe('POST /v1/traces accepts spans', () => {
  it('queues a gzip protobuf export as one batch tagged with the key’s org and workspace', async () => {
    const body = encodeRequest(traceRequest([span(0), span(1), span(2)]), 'protobuf');
    const res = await postTraces(c.url, body, { key, gzip: true });

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    expect((await bytesOf(res)).length).toBe(0);

    const [batch, ...more] = await c.batches();
    expect(more).toHaveLength(0);
    expect(batch).toMatchObject({
      v: 1,
      orgId: org.orgId,
      workspaceId: org.workspaces.prod!.id,
      keyId: org.workspaces.prod!.ingestKey.id,
      spanCount: 3,
      minTimestampSec: 1700000000,
      maxTimestampSec: 1700000000,
    });
    expect(batch!.batchId).toMatch(/^batch_/);
    const rows = rowsOf(batch!);
    expect(rows).toHaveLength(3);
    expect(rows[1]).toMatchObject({
      org_id: org.orgId,
      workspace_id: org.workspaces.prod!.id,
      batch_id: batch!.batchId,
      trace_id: TRACE_ID,
      span_id: '0000000000001001',
      parent_span_id: '0000000000001000',
      name: 'op-1',
      kind: 2,
      service_name: 'checkout',
      scope_name: 'test-lib',
      start_time_unix_nano: '1700000000000000001',
      end_time_unix_nano: '1700000001234567801',
      duration_ns: '1234567800',
      status_code: 1,
      attr_keys: ['http.method', 'http.status_code', 'retry', 'ratio'],
      attr_types: [ValueType.string, ValueType.int, ValueType.bool, ValueType.double],
      attr_values: ['GET', '200', 'true', '0.25'],
      attr_numbers: [0, 200, 1, 0.25],
    });
    expect(rows[0]!.parent_span_id).toBe('');
  });

  it('accepts the specification’s JSON example as written (uppercase hex ids, bare int64 numbers)', async () => {
    const res = await postTraces(c.url, SPEC_EXAMPLE, { key, contentType: 'application/json; charset=utf-8' });

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({});
    const [batch] = await c.batches();
    const [row] = rowsOf(batch!);
    expect(row).toMatchObject({
      trace_id: '5b8efff798038103d269b633813fc60c',
      span_id: 'eee19b7ec3c1b174',
      parent_span_id: 'eee19b7ec3c1b173',
      name: "I'm a server span",
      kind: 2,
      service_name: 'my.service',
      scope_name: 'my.library',
      scope_version: '1.0.0',
      start_time_unix_nano: '1544712660000000000',
      end_time_unix_nano: '1544712661000000000',
      attr_keys: ['my.span.attr'],
      attr_values: ['some value'],
    });
    expect(JSON.parse(row!.scope_attributes as string)).toEqual([{ key: 'my.scope.attribute', value: { stringValue: 'some scope attribute' } }]);
  });

  it('accepts gzip JSON and the x-gzip spelling', async () => {
    const res = await postTraces(c.url, encodeRequest(traceRequest([span(0)]), 'json'), {
      key,
      contentType: CONTENT_TYPE.json,
      gzip: true,
    });
    expect(res.status).toBe(200);
    const res2 = await fetch(`${c.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': CONTENT_TYPE.protobuf, 'content-encoding': 'x-gzip', 'x-api-key': key },
      body: (await import('node:zlib')).gzipSync(encodeRequest(traceRequest([span(1)]), 'protobuf')),
    });
    expect(res2.status).toBe(200);
    expect(await c.batches()).toHaveLength(2);
  });

  it('reads snake_case JSON field names and enum names', async () => {
    const body = JSON.stringify({
      resource_spans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { string_value: 'snake' } }], dropped_attributes_count: 1 },
          scope_spans: [
            {
              scope: { name: 'lib' },
              spans: [
                {
                  trace_id: TRACE_ID,
                  span_id: '00000000000000aa',
                  parent_span_id: '',
                  name: 'snake-span',
                  kind: 'SPAN_KIND_CLIENT',
                  start_time_unix_nano: '1700000000000000001',
                  end_time_unix_nano: 'BARE',
                  attributes: [{ key: 'db.rows', value: { int_value: 12 } }],
                  events: [{ time_unix_nano: '1700000000100000000', name: 'evt' }],
                  status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
                },
              ],
            },
          ],
        },
      ],
    }).replace('"BARE"', '1700000000500000001'); // a bare int64 number, as some encoders write it
    const res = await postTraces(c.url, body, { key, contentType: CONTENT_TYPE.json });
    expect(res.status).toBe(200);
    const [batch] = await c.batches();
    expect(rowsOf(batch!)[0]).toMatchObject({
      service_name: 'snake',
      resource_dropped_attributes_count: 1,
      name: 'snake-span',
      kind: 3,
      start_time_unix_nano: '1700000000000000001',
      end_time_unix_nano: '1700000000500000001',
      attr_keys: ['db.rows'],
      attr_types: [ValueType.int],
      attr_values: ['12'],
      events_time_unix_nano: ['1700000000100000000'],
      events_name: ['evt'],
      status_code: 2,
      status_message: 'boom',
    });
  });

  it('keeps int64 numbers beyond 2^53 exact in JSON', async () => {
    const body = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"00000000000000bb",
      "startTimeUnixNano":1700000000123456789,"endTimeUnixNano" : 18446744073709551615,
      "attributes":[{"key":"big","value":{"intValue":9007199254740993}},{"key":"neg","value":{"intValue":-9223372036854775808}},
      {"key":"text","value":{"stringValue":"{\\"intValue\\": 9007199254740993}"}}]}]}]}]}`;
    const res = await postTraces(c.url, body, { key, contentType: CONTENT_TYPE.json });
    expect(res.status).toBe(200);
    const [row] = rowsOf((await c.batches())[0]!);
    expect(row).toMatchObject({
      start_time_unix_nano: '1700000000123456789',
      end_time_unix_nano: '18446744073709551615',
      attr_values: ['9007199254740993', '-9223372036854775808', '{"intValue": 9007199254740993}'],
      attr_types: [ValueType.int, ValueType.int, ValueType.string],
    });
  });

  it('answers an export with zero spans with 200 and queues nothing', async () => {
    for (const encoding of ['protobuf', 'json'] as const) {
      const res = await postTraces(c.url, encodeRequest({ resourceSpans: [] }, encoding), { key, contentType: CONTENT_TYPE[encoding] });
      expect(res.status).toBe(200);
      expect(decodeExportResponse(encoding, await bytesOf(res))).toEqual({});
    }
    const empty = await postTraces(c.url, new Uint8Array(0), { key });
    expect(empty.status).toBe(200);
    expect(await c.batches()).toHaveLength(0);
  });
});

describe.each<Encoding>(['protobuf', 'json'])('partial success (%s)', (encoding) => {
  it('rejects a span whose trace id is not 16 bytes and queues the valid ones beside it', async () => {
    const bad = span(1, { traceId: '5b8efff798038103d269b633813fc6' }); // 15 bytes
    const res = await postTraces(c.url, encodeRequest(traceRequest([span(0), bad, span(2)]), encoding), { key, contentType: CONTENT_TYPE[encoding] });

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(CONTENT_TYPE[encoding]);
    const body = await bytesOf(res);
    if (encoding === 'json') {
      const json = JSON.parse(Buffer.from(body).toString()) as { partialSuccess: { rejectedSpans: unknown; errorMessage: string } };
      expect(json.partialSuccess.rejectedSpans).toBe('1');
      expect(json.partialSuccess.errorMessage).toContain('invalid_trace_id');
    } else {
      const decoded = decodeExportResponse('protobuf', body);
      expect(decoded.partialSuccess?.rejectedSpans).toBe('1');
      expect(decoded.partialSuccess?.errorMessage).toMatch(/trace_id must be 16 bytes/);
    }
    const [batch, ...more] = await c.batches();
    expect(more).toHaveLength(0);
    expect(batch!.spanCount).toBe(2);
    expect(rowsOf(batch!).map((r) => r.span_id)).toEqual(['0000000000001000', '0000000000001002']);
  });

  it('answers 200 with partialSuccess and queues nothing when every span is rejected', async () => {
    const res = await postTraces(c.url, encodeRequest(traceRequest([span(0, { spanId: '' }), span(1, { startTimeUnixNano: '0' })]), encoding), {
      key,
      contentType: CONTENT_TYPE[encoding],
    });
    expect(res.status).toBe(200);
    expect(decodeExportResponse(encoding, await bytesOf(res)).partialSuccess?.rejectedSpans).toBe('2');
    expect(await c.batches()).toHaveLength(0);
  });
});
