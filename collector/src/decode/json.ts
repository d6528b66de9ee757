import { toWellFormed, type OtlpTraceRequest } from '@canopy/core';
import { IngestError } from '../errors.js';
import { checkTraceRequestShape } from './json-shape.js';

/**
 * JSON.parse turns integers past 2^53 into the nearest double, so a bare nanosecond
 * timestamp would lose its last digits. Long digit runs of the int64 fields are quoted
 * before parsing. The match needs an unescaped `"` after `{` or `,`, which inside a
 * JSON string is impossible, so string contents are never touched.
 */
const UNQUOTED_INT64 =
  /([{,]\s*"(?:startTimeUnixNano|endTimeUnixNano|timeUnixNano|intValue|start_time_unix_nano|end_time_unix_nano|time_unix_nano|int_value)"\s*:\s*)(-?\d{16,})(?![\d.eE])/g;

/** A snake_case key (`"resource_spans":`): only then are keys renamed, so the usual payload pays nothing. */
const SNAKE_KEY = /"[a-z][a-z0-9]*_[a-z0-9_]*"\s*:/;

/**
 * A `\uD800`–`\uDFFF` escape. Raw bytes are decoded with U+FFFD for anything invalid, so
 * only an escape can put a lone surrogate into a string, and ClickHouse refuses a whole
 * insert over one. Payloads with such escapes (rare: most encoders write UTF-8) are
 * parsed with a reviver that mends every string; the usual payload pays one scan.
 */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;
const mendStrings = (_key: string, value: unknown): unknown => (typeof value === 'string' ? toWellFormed(value) : value);

/**
 * Decodes an OTLP/JSON ExportTraceServiceRequest: lowerCamelCase keys (snake_case
 * accepted), hex ids, enums as integers or names, 64-bit ints as strings or numbers,
 * unknown fields ignored. Wrong types anywhere are a 400, never a crash.
 */
export function decodeJsonTraceRequest(body: Uint8Array): OtlpTraceRequest {
  let text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  text = text.replace(UNQUOTED_INT64, '$1"$2"');
  let parsed: unknown;
  try {
    parsed = SURROGATE_ESCAPE.test(text) ? JSON.parse(text, mendStrings) : JSON.parse(text);
  } catch (err) {
    throw new IngestError('invalid_json', `the body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  checkTraceRequestShape(parsed, { snakeCase: SNAKE_KEY.test(text) });
  return parsed as OtlpTraceRequest;
}
