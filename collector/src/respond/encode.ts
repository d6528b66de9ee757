import Long from 'long';
import { CONTENT_TYPES, type PayloadFormat } from '../receive/content.js';
import { otlpTypes } from '../decode/schema.js';

/** A response body ready to send, with its exact Content-Type. */
export interface EncodedBody {
  contentType: string;
  body: Buffer;
}

export interface PartialSuccess {
  rejectedSpans: number;
  errorMessage: string;
}

const EMPTY = Buffer.alloc(0);
const EMPTY_JSON = Buffer.from('{}');

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * ExportTraceServiceResponse in the request's encoding. Full success leaves
 * `partial_success` unset: zero bytes in protobuf, `{}` in JSON. In JSON, int64
 * `rejectedSpans` is a decimal string, as proto3 JSON writes 64-bit ints.
 */
export function encodeExportResponse(format: PayloadFormat, partial: PartialSuccess | null): EncodedBody {
  const contentType = CONTENT_TYPES[format];
  if (!partial) return { contentType, body: format === 'json' ? EMPTY_JSON : EMPTY };
  if (format === 'json') {
    const json = { partialSuccess: { rejectedSpans: String(partial.rejectedSpans), errorMessage: partial.errorMessage } };
    return { contentType, body: Buffer.from(JSON.stringify(json)) };
  }
  const type = otlpTypes.ExportTraceServiceResponse;
  const message = type.create({ partialSuccess: { rejectedSpans: Long.fromNumber(partial.rejectedSpans), errorMessage: partial.errorMessage } });
  return { contentType, body: asBuffer(type.encode(message).finish()) };
}

/** google.rpc.Status, the body of every 4xx/5xx answer, in the request's encoding. */
export function encodeRpcStatus(format: PayloadFormat, status: { code: number; message: string }): EncodedBody {
  const contentType = CONTENT_TYPES[format];
  if (format === 'json') return { contentType, body: Buffer.from(JSON.stringify({ code: status.code, message: status.message })) };
  const type = otlpTypes.RpcStatus;
  return { contentType, body: asBuffer(type.encode(type.create(status)).finish()) };
}

/** Decoders for responses, for tests and clients that read what the collector sent. */
export function decodeExportResponse(format: PayloadFormat, body: Uint8Array): { partialSuccess?: { rejectedSpans: string; errorMessage: string } } {
  if (format === 'json') return body.length === 0 ? {} : (JSON.parse(Buffer.from(body).toString('utf8')) as ReturnType<typeof decodeExportResponse>);
  const type = otlpTypes.ExportTraceServiceResponse;
  return type.toObject(type.decode(body), { longs: String }) as ReturnType<typeof decodeExportResponse>;
}

export function decodeRpcStatus(format: PayloadFormat, body: Uint8Array): { code: number; message: string } {
  const raw =
    format === 'json'
      ? (JSON.parse(Buffer.from(body).toString('utf8')) as { code?: number; message?: string })
      : (otlpTypes.RpcStatus.toObject(otlpTypes.RpcStatus.decode(body), { defaults: true }) as { code?: number; message?: string });
  return { code: raw.code ?? 0, message: raw.message ?? '' };
}
