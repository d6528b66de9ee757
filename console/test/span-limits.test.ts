import { describe, expect, it } from 'vitest';
import type { Span } from '../src/api/types';
import { cutValues, describeField, spanLimitNotes, truncatedTraceBanner } from '../src/waterfall/limits';

const span = (extra: Partial<Span> = {}): Span => ({
  traceId: 'a'.repeat(32),
  spanId: 'b'.repeat(16),
  parentSpanId: '',
  name: 'op',
  kind: 'server',
  serviceName: 'api',
  startTimeUnixNano: '1',
  endTimeUnixNano: '2',
  durationMs: 0,
  status: { code: 'unset', message: '' },
  attributes: {},
  resource: {},
  scope: { name: 'lib', version: '1', droppedAttributesCount: 0 },
  events: [],
  links: [],
  droppedAttributesCount: 0,
  droppedEventsCount: 0,
  droppedLinksCount: 0,
  truncatedFields: [],
  ...extra,
});

describe('describeField', () => {
  it('names every place the ingest value limit can cut', () => {
    expect(
      [
        'name',
        'status.message',
        'traceState',
        'resourceSchemaUrl',
        'scope.version',
        'attributes.gen_ai.prompt',
        'attributes.kkkk…[truncated 4 bytes]#key',
        'resource.host.name',
        'scope.attributes.lib.flag',
        'events.0.name',
        'events.2.attributes.exception.stacktrace',
        'links.0.traceState',
        'links.1.attributes.k#key',
      ].map(describeField),
    ).toEqual([
      'span name',
      'status message',
      'trace state',
      'resource schema URL',
      'scope version',
      'attribute gen_ai.prompt',
      'attribute key kkkk…[truncated 4 bytes]',
      'resource attribute host.name',
      'scope attribute lib.flag',
      'event 1 name',
      'event 3 attribute exception.stacktrace',
      'link 1 trace state',
      'link 2 attribute key k',
    ]);
  });

  it('shows a path it does not know as it is', () => {
    expect(describeField('somewhere.new')).toBe('somewhere.new');
  });
});

describe('spanLimitNotes', () => {
  it('is empty for a span nothing was cut from or dropped of', () => {
    expect(spanLimitNotes(span())).toEqual([]);
  });

  it('lists cut fields with their size as sent, then every dropped count', () => {
    const notes = spanLimitNotes(
      span({
        truncatedFields: [
          { field: 'attributes.prompt', originalBytes: 200_000 },
          { field: 'name', originalBytes: 300 },
        ],
        droppedAttributesCount: 172,
        resourceDroppedAttributesCount: 2,
        scope: { name: 'lib', version: '1', droppedAttributesCount: 1 },
        droppedEventsCount: 72,
        droppedLinksCount: 22,
        events: [{ timeUnixNano: '1', name: 'e', attributes: {}, droppedAttributesCount: 3 }],
        links: [{ traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), attributes: {}, droppedAttributesCount: 0 }],
      }),
    );
    expect(notes).toEqual([
      { what: 'attribute prompt', detail: 'cut, 195.3 KiB as sent' },
      { what: 'span name', detail: 'cut, 300 B as sent' },
      { what: 'attributes', detail: '172 dropped (by the SDK or the ingest limit)' },
      { what: 'resource attributes', detail: '2 dropped (by the SDK or the ingest limit)' },
      { what: 'scope attributes', detail: '1 dropped (by the SDK or the ingest limit)' },
      { what: 'events', detail: '72 dropped (by the SDK or the ingest limit)' },
      { what: 'links', detail: '22 dropped (by the SDK or the ingest limit)' },
      { what: 'event 1 attributes', detail: '3 dropped (by the SDK or the ingest limit)' },
    ]);
  });

  it('reads a span from an API without the truncation fields as whole', () => {
    const { truncatedFields: _ignored, ...older } = span();
    expect(spanLimitNotes(older)).toEqual([]);
  });
});

describe('cutValues', () => {
  it('maps the cut values of one attribute set to their size as sent, leaving out cut keys', () => {
    const s = span({
      truncatedFields: [
        { field: 'attributes.prompt', originalBytes: 200_000 },
        { field: 'attributes.kkk…[truncated 9 bytes]#key', originalBytes: 140_000 },
        { field: 'resource.host', originalBytes: 150_000 },
      ],
    });
    expect([...cutValues(s, 'attributes.')]).toEqual([['prompt', 200_000]]);
    expect([...cutValues(s, 'resource.')]).toEqual([['host', 150_000]]);
  });
});

describe('truncatedTraceBanner', () => {
  const spans = [span(), span()];

  it('says how many of how many spans are shown', () => {
    expect(truncatedTraceBanner({ truncated: true, totalSpanCount: 12_345, spans })).toBe(
      'Showing the first 2 of 12,345 spans: this trace is larger than the API returns at once.',
    );
  });

  it('still warns when the API gives no total, and says nothing for a whole trace', () => {
    expect(truncatedTraceBanner({ truncated: true, spans })).toBe('Showing the first 2 spans: this trace is larger than the API returns at once.');
    expect(truncatedTraceBanner({ truncated: false, totalSpanCount: 2, spans })).toBeNull();
  });
});
