import { randomBytes } from 'node:crypto';
import type { OtlpKeyValue, OtlpSpan, OtlpTraceRequest } from '@canopy/core';

const SERVICES = ['checkout', 'cart', 'payments', 'inventory', 'frontend'];
const ROUTES = ['/api/cart', '/api/checkout', '/api/items/:id', '/api/pay', '/health'];

const str = (key: string, v: string): OtlpKeyValue => ({ key, value: { stringValue: v } });
const int = (key: string, v: number): OtlpKeyValue => ({ key, value: { intValue: String(v) } });

/**
 * One export request as an SDK's batch processor sends it: `spansPerRequest` spans in
 * traces of 10, one service per request, ~10 attributes per span and an event on every
 * fifth span. `marker` becomes the first trace id so freshness can be observed.
 */
export function generateRequest(spansPerRequest: number, seq: number, baseTimeNs: bigint): { request: OtlpTraceRequest; firstTraceId: string } {
  const service = SERVICES[seq % SERVICES.length]!;
  const spans: OtlpSpan[] = [];
  let traceId = '';
  let firstTraceId = '';
  let rootId = '';
  for (let i = 0; i < spansPerRequest; i++) {
    if (i % 10 === 0) {
      traceId = randomBytes(16).toString('hex');
      firstTraceId ||= traceId;
      rootId = '';
    }
    const spanId = randomBytes(8).toString('hex');
    const start = baseTimeNs + BigInt(seq * 1_000_000 + i * 1_000);
    const status = i % 37 === 0 ? 2 : 0;
    spans.push({
      traceId,
      spanId,
      parentSpanId: rootId,
      name: i % 10 === 0 ? `GET ${ROUTES[i % ROUTES.length]}` : `db.query ${i % 7}`,
      kind: i % 10 === 0 ? 2 : 3,
      startTimeUnixNano: start.toString(),
      endTimeUnixNano: (start + BigInt(1_000_000 + (i % 100) * 10_000)).toString(),
      attributes: [
        str('http.request.method', 'GET'),
        str('http.route', ROUTES[i % ROUTES.length]!),
        int('http.response.status_code', status ? 500 : 200),
        str('server.address', 'api.internal'),
        int('server.port', 8080),
        str('user.id', `u-${(seq * 31 + i) % 5000}`),
        str('db.system', 'postgresql'),
        str('db.statement', 'SELECT id, name, price FROM items WHERE cart_id = $1'),
        { key: 'retry', value: { boolValue: i % 13 === 0 } },
        { key: 'cart.total', value: { doubleValue: (i % 50) * 1.25 } },
      ],
      events: i % 5 === 0 ? [{ timeUnixNano: (start + 500n).toString(), name: 'cache.miss', attributes: [str('cache.key', `item:${i}`)] }] : [],
      status: { code: status, message: status ? 'upstream failed' : '' },
    });
    if (!rootId) rootId = spanId;
  }
  return {
    firstTraceId,
    request: {
      resourceSpans: [
        {
          resource: {
            attributes: [
              str('service.name', service),
              str('service.version', '1.4.2'),
              str('host.name', `host-${seq % 8}`),
              str('telemetry.sdk.language', 'nodejs'),
              str('telemetry.sdk.name', 'opentelemetry'),
              str('deployment.environment.name', 'prod'),
            ],
          },
          scopeSpans: [{ scope: { name: '@opentelemetry/instrumentation-http', version: '0.223.0' }, spans }],
        },
      ],
    },
  };
}
