import type { Bytes, Int64 } from './types.js';

const TWO_32 = 4294967296;
const HEX = /^[0-9a-fA-F]*$/;

/** Decimal string of an unsigned 64-bit value in any of the forms decoders produce; null if invalid. */
export function uint64ToString(v: Int64 | undefined | null): string | null {
  if (v === undefined || v === null) return '0';
  if (typeof v === 'string') return /^\d{1,20}$/.test(v) && BigInt(v) <= 0xffffffffffffffffn ? stripZeros(v) : null;
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? String(v) : Number.isInteger(v) && v > 0 && v < 2 ** 64 ? BigInt(v).toString() : null;
  if (typeof v === 'bigint') return v >= 0n && v <= 0xffffffffffffffffn ? v.toString() : null;
  return longBitsToDecimal(v.high >>> 0, v.low >>> 0);
}

/**
 * Exact decimal of high·2^32 + low without BigInt (nanosecond timestamps exceed 2^53):
 * split 2^32 = 4294·10^6 + 967296 so every partial product stays below 2^53.
 */
export function longBitsToDecimal(high: number, low: number): string {
  if (high < 0x200000) return String(high * TWO_32 + low);
  let millions = high * 4294;
  let rest = high * 967296 + low;
  const carry = Math.floor(rest / 1e6);
  millions += carry;
  rest -= carry * 1e6;
  return `${millions}${String(rest).padStart(6, '0')}`;
}

/** end − start in ns as a decimal string (0 when end is not after start). */
export function durationNs(start: string, end: string): string {
  if (end.length < 16 && start.length < 16) {
    const d = Number(end) - Number(start);
    return d > 0 ? String(d) : '0';
  }
  const d = BigInt(end) - BigInt(start);
  return d > 0n ? d.toString() : '0';
}

/** Decimal string of a signed 64-bit value; null if invalid. */
export function int64ToString(v: Int64 | undefined | null): string | null {
  if (v === undefined || v === null) return '0';
  if (typeof v === 'string') {
    if (!/^-?\d{1,20}$/.test(v)) return null;
    const b = BigInt(v);
    return b >= -(2n ** 63n) && b < 2n ** 63n ? b.toString() : null;
  }
  if (typeof v === 'number') return Number.isSafeInteger(v) ? String(v) : Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 63 ? BigInt(v).toString() : null;
  if (typeof v === 'bigint') return v >= -(2n ** 63n) && v < 2n ** 63n ? v.toString() : null;
  if (v.unsigned) return uint64ToString(v);
  const high = v.high | 0;
  const low = v.low >>> 0;
  if (high >= -0x200000 && high < 0x200000) return String(high * TWO_32 + low);
  return BigInt.asIntN(64, (BigInt(high >>> 0) << 32n) | BigInt(low)).toString();
}

function stripZeros(s: string): string {
  const t = s.replace(/^0+(?=\d)/, '');
  return t;
}

/**
 * Lowercase hex of an id: protobuf bytes, or OTLP/JSON hex (the specification's form).
 * Base64 is accepted too, since generic proto3 JSON encoders emit it.
 */
export function idToHex(v: Bytes | undefined | null): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') return asBuffer(v).toString('hex');
  if (HEX.test(v) && v.length % 2 === 0) return v.toLowerCase();
  const bytes = Buffer.from(v, 'base64');
  return bytes.length > 0 && bytes.toString('base64').replace(/=+$/, '') === v.replace(/=+$/, '') ? bytes.toString('hex') : `invalid:${v.length}`;
}

export function bytesToBase64(v: Bytes | undefined | null): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  return asBuffer(v).toString('base64');
}

/**
 * A view of decoded bytes without copying. protobufjs hands out Buffers for fields on the
 * wire but a plain empty Array (its prototype default) for absent ones.
 */
function asBuffer(v: Uint8Array | ArrayLike<number>): Buffer {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return Buffer.from(Array.from(v));
}

export function isAllZeroHex(hex: string): boolean {
  return /^0*$/.test(hex);
}

/** Seconds for the DateTime partition column, clamped to what DateTime can hold. */
export function nanosToSeconds(nanos: string): number {
  const len = nanos.length;
  const secs = len > 9 ? Number(nanos.slice(0, len - 9)) : 0;
  return Math.min(secs, 4294967295);
}

export const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
