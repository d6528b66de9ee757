import type { OtlpLink, OtlpSpan, OtlpTraceRequest } from '@canopy/core';
import { IngestError } from '../errors.js';
import { otlpTypes } from './schema.js';

/**
 * Decodes a binary ExportTraceServiceRequest. The protobufjs message goes to
 * normalization as is: ids stay views into `body`, 64-bit ints are Long, and only the
 * fields present on the wire are own properties (what the oneof checks rely on).
 */
export function decodeProtobufTraceRequest(body: Uint8Array): OtlpTraceRequest {
  try {
    return otlpTypes.ExportTraceServiceRequest.decode(body) as unknown as OtlpTraceRequest;
  } catch (err) {
    throw new IngestError('invalid_protobuf', `cannot decode ExportTraceServiceRequest: ${(err as Error).message}`, { cause: err });
  }
}

const HEX = /^[0-9a-fA-F]*$/;
const idBytes = (id: OtlpSpan['traceId']): OtlpSpan['traceId'] =>
  typeof id === 'string' && HEX.test(id) && id.length % 2 === 0 ? Buffer.from(id, 'hex') : id;

function withByteIds<T extends OtlpSpan | OtlpLink>(item: T): T {
  const out: T = { ...item, traceId: idBytes(item.traceId), spanId: idBytes(item.spanId) };
  if ('parentSpanId' in item) (out as OtlpSpan).parentSpanId = idBytes((item as OtlpSpan).parentSpanId);
  return out;
}

/**
 * Encodes an ExportTraceServiceRequest from a plain object in the shape of OTLP/JSON:
 * ids as hex strings or bytes, 64-bit ints as strings, numbers or Long, enums as
 * numbers or names, `bytesValue` as base64 or bytes. For tests and benchmarks that
 * need real protobuf payloads; not on the ingest path.
 */
export function encodeProtobufTraceRequest(request: OtlpTraceRequest): Uint8Array {
  const plain = {
    resourceSpans: (request.resourceSpans ?? []).map((rs) => ({
      ...rs,
      scopeSpans: (rs.scopeSpans ?? []).map((ss) => ({
        ...ss,
        spans: (ss.spans ?? []).map((span) => ({ ...withByteIds(span), links: (span.links ?? []).map(withByteIds) })),
      })),
    })),
  };
  const type = otlpTypes.ExportTraceServiceRequest;
  return type.encode(type.fromObject(plain)).finish();
}
