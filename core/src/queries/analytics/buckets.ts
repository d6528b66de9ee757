/**
 * Bucket sizes of a time series. Each divides a day, so buckets computed as
 * `intDiv(toUInt32(timestamp), size) * size` (ClickHouse 18.16 has no
 * toStartOfInterval) line up with UTC days and hours.
 */
export const BUCKETS = {
  '1m': 60,
  '5m': 300,
  '10m': 600,
  '15m': 900,
  '30m': 1800,
  '1h': 3600,
  '3h': 10_800,
  '6h': 21_600,
  '12h': 43_200,
  '1d': 86_400,
} as const;
export type BucketName = keyof typeof BUCKETS;
export const BUCKET_NAMES = Object.keys(BUCKETS) as BucketName[];

/** Most points one series may have. */
export const MAX_POINTS = 1500;

/** The automatic bucket: ≤1h → 1m, ≤6h → 5m, ≤1d → 15m, ≤7d → 1h, longer → 1d. */
export function autoBucket(rangeMs: number): BucketName {
  const hours = rangeMs / 3_600_000;
  if (hours <= 1) return '1m';
  if (hours <= 6) return '5m';
  if (hours <= 24) return '15m';
  if (hours <= 24 * 7) return '1h';
  return '1d';
}

/** Start (Unix seconds) of every bucket that overlaps [from, to). */
export function bucketStarts(fromSec: number, toSecExclusive: number, size: number): number[] {
  const out: number[] = [];
  for (let t = Math.floor(fromSec / size) * size; t < toSecExclusive; t += size) out.push(t);
  return out;
}
