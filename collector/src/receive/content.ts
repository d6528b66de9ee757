import type { IncomingHttpHeaders } from 'node:http';
import { IngestError } from '../errors.js';

/** The two OTLP/HTTP payload encodings; responses use the request's. */
export type PayloadFormat = 'protobuf' | 'json';

export const CONTENT_TYPES: Readonly<Record<PayloadFormat, string>> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/** `application/json; charset=utf-8` → `application/json`. */
function mediaType(header: string | undefined): string {
  if (!header) return '';
  const semi = header.indexOf(';');
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
}

/** The format a request's body is in, or null when it is neither OTLP encoding. */
export function formatOf(headers: IncomingHttpHeaders): PayloadFormat | null {
  const type = mediaType(headers['content-type']);
  if (type === CONTENT_TYPES.protobuf) return 'protobuf';
  if (type === CONTENT_TYPES.json) return 'json';
  return null;
}

/** Error bodies follow the request's encoding; anything that is not protobuf gets JSON. */
export function responseFormatOf(headers: IncomingHttpHeaders): PayloadFormat {
  return formatOf(headers) ?? 'json';
}

export function requireFormat(headers: IncomingHttpHeaders): PayloadFormat {
  const format = formatOf(headers);
  if (format) return format;
  const sent = mediaType(headers['content-type']) || 'none';
  throw new IngestError('unsupported_media_type', `unsupported content type ${JSON.stringify(sent)}: send application/x-protobuf or application/json`);
}

/** True for a gzip body, false for identity; any other Content-Encoding is refused. */
export function isGzip(headers: IncomingHttpHeaders): boolean {
  const raw = headers['content-encoding'];
  const encoding = raw ? raw.trim().toLowerCase() : '';
  if (encoding === '' || encoding === 'identity') return false;
  if (encoding === 'gzip' || encoding === 'x-gzip') return true;
  throw new IngestError('unsupported_encoding', `unsupported content encoding ${JSON.stringify(encoding)}: send gzip or no Content-Encoding`);
}
