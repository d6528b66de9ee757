import { bytesToBase64, hasOwn, int64ToString } from './scalars.js';
import { ValueType, type OtlpAnyValue, type OtlpKeyValue, type ValueTypeCode } from './types.js';

/** One attribute value as stored: its kind, a faithful text form and a number for filters. */
export interface EncodedValue {
  type: ValueTypeCode;
  text: string;
  number: number;
}

const EMPTY: EncodedValue = { type: ValueType.empty, text: '', number: 0 };

/**
 * Reads which oneof member is set. Decoded protobuf messages carry defaults on their
 * prototype, so only own properties tell what was on the wire.
 */
export function encodeValue(v: OtlpAnyValue | null | undefined, depth = 0): EncodedValue {
  if (!v || typeof v !== 'object') return EMPTY;
  if (hasOwn(v, 'stringValue') && typeof v.stringValue === 'string') return { type: ValueType.string, text: v.stringValue, number: 0 };
  if (hasOwn(v, 'boolValue')) return { type: ValueType.bool, text: v.boolValue ? 'true' : 'false', number: v.boolValue ? 1 : 0 };
  if (hasOwn(v, 'intValue')) {
    const text = int64ToString(v.intValue);
    return text === null ? { type: ValueType.string, text: String(v.intValue), number: 0 } : { type: ValueType.int, text, number: Number(text) };
  }
  if (hasOwn(v, 'doubleValue')) {
    const n = typeof v.doubleValue === 'string' ? Number(v.doubleValue) : (v.doubleValue ?? 0);
    return { type: ValueType.double, text: String(n), number: Number.isFinite(n) ? n : 0 };
  }
  if (hasOwn(v, 'bytesValue')) return { type: ValueType.bytes, text: bytesToBase64(v.bytesValue), number: 0 };
  if (hasOwn(v, 'arrayValue')) {
    return { type: ValueType.array, text: JSON.stringify((v.arrayValue?.values ?? []).map((x) => canonicalValue(x, depth + 1))), number: 0 };
  }
  if (hasOwn(v, 'kvlistValue')) {
    return { type: ValueType.kvlist, text: JSON.stringify(canonicalKeyValues(v.kvlistValue?.values, depth + 1)), number: 0 };
  }
  return EMPTY;
}

/** Max nesting kept for array/kvlist values; deeper levels are replaced by a marker. */
export const MAX_VALUE_DEPTH = 32;

/** The OTLP/JSON form of a value (int64 as a decimal string, bytes as base64), for nested storage. */
export function canonicalValue(v: OtlpAnyValue | null | undefined, depth = 0): Record<string, unknown> {
  if (depth > MAX_VALUE_DEPTH) return { stringValue: '[canopy: nesting too deep]' };
  const e = v && typeof v === 'object' ? v : {};
  if (hasOwn(e, 'arrayValue')) return { arrayValue: { values: (e.arrayValue?.values ?? []).map((x) => canonicalValue(x, depth + 1)) } };
  if (hasOwn(e, 'kvlistValue')) return { kvlistValue: { values: canonicalKeyValues(e.kvlistValue?.values, depth + 1) } };
  const enc = encodeValue(e, depth);
  switch (enc.type) {
    case ValueType.string:
      return { stringValue: enc.text };
    case ValueType.bool:
      return { boolValue: enc.text === 'true' };
    case ValueType.int:
      return { intValue: enc.text };
    case ValueType.double: {
      const n = Number(enc.text);
      return { doubleValue: Number.isFinite(n) ? n : enc.text };
    }
    case ValueType.bytes:
      return { bytesValue: enc.text };
    default:
      return {};
  }
}

export function canonicalKeyValues(kvs: OtlpKeyValue[] | null | undefined, depth = 0): Array<{ key: string; value: Record<string, unknown> }> {
  if (!kvs) return [];
  return kvs.map((kv) => ({ key: kv.key ?? '', value: canonicalValue(kv.value, depth) }));
}

/** Parallel arrays for the `*_keys/_types/_values/_numbers` columns. */
export interface EncodedAttributes {
  keys: string[];
  types: number[];
  values: string[];
  numbers: number[];
}

export function encodeAttributes(kvs: OtlpKeyValue[] | null | undefined): EncodedAttributes {
  const out: EncodedAttributes = { keys: [], types: [], values: [], numbers: [] };
  if (!kvs) return out;
  for (const kv of kvs) {
    const enc = encodeValue(kv.value);
    out.keys.push(kv.key ?? '');
    out.types.push(enc.type);
    out.values.push(enc.text);
    out.numbers.push(enc.number);
  }
  return out;
}

/** Reads a stored value back into the JS value it was sent as (ints beyond 2^53 stay strings). */
export function decodeStoredValue(type: number, text: string): unknown {
  switch (type) {
    case ValueType.string:
      return text;
    case ValueType.bool:
      return text === 'true';
    case ValueType.int: {
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case ValueType.double:
      return Number(text);
    case ValueType.bytes:
      return text;
    case ValueType.array:
      return (JSON.parse(text) as Record<string, unknown>[]).map(plainValue);
    case ValueType.kvlist:
      return Object.fromEntries((JSON.parse(text) as Array<{ key: string; value: Record<string, unknown> }>).map((kv) => [kv.key, plainValue(kv.value)]));
    default:
      return null;
  }
}

/** Canonical OTLP/JSON value → plain JS value. */
export function plainValue(v: Record<string, unknown>): unknown {
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return decodeStoredValue(ValueType.int, String(v.intValue));
  if ('doubleValue' in v) return typeof v.doubleValue === 'number' ? v.doubleValue : Number(v.doubleValue);
  if ('bytesValue' in v) return v.bytesValue;
  if ('arrayValue' in v) return ((v.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map(plainValue);
  if ('kvlistValue' in v) {
    const values = (v.kvlistValue as { values?: Array<{ key: string; value: Record<string, unknown> }> }).values ?? [];
    return Object.fromEntries(values.map((kv) => [kv.key, plainValue(kv.value)]));
  }
  return null;
}

/** Parallel arrays → `{ key: value }` with values typed as sent. */
export function decodeStoredAttributes(keys: string[], types: number[], values: string[]): Record<string, unknown> {
  // fromEntries defines own properties: a key named `__proto__` stays an attribute.
  return Object.fromEntries(keys.map((k, i) => [k, decodeStoredValue(types[i] ?? 0, values[i] ?? '')]));
}
