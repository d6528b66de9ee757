import { z } from 'zod';
import { instantSchema } from '../tenancy/schemas.js';

/**
 * Wire schemas shared by the query operations. Query strings arrive as strings, so
 * numbers are coerced; every schema stays representable as JSON Schema on its input side.
 */

export const DAY_MS = 86_400_000;

/** Longest range a trace search or an analytics query may cover (the limit is documented in the API). */
export const MAX_QUERY_RANGE_DAYS = 31;

/** Longest range an org usage report may cover. */
export const MAX_USAGE_RANGE_DAYS = 366;

export interface TimeRange {
  from: Date;
  to: Date;
}

export { instantSchema };

/** `from`/`to` (ISO or epoch ms), both required, `from < to`, at most `maxDays` apart. */
export function timeRangeShape(maxDays: number) {
  return {
    from: instantSchema.describe('start of the range, inclusive: ISO 8601 or epoch milliseconds'),
    to: instantSchema.describe(`end of the range, exclusive: ISO 8601 or epoch milliseconds; at most ${maxDays} days after from`),
  };
}

/** Adds the `from < to ≤ from + maxDays` check to an object schema with from/to. */
export function checkRange(range: TimeRange, maxDays: number, ctx: z.RefinementCtx): void {
  if (range.to.getTime() <= range.from.getTime()) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
  } else if (range.to.getTime() - range.from.getTime() > maxDays * DAY_MS) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: `the range may cover at most ${maxDays} days` });
  }
}

/** A query-string value that may be given once or repeated (`?service=a&service=b`). */
export const repeatable = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]));

/** Milliseconds as a non-negative decimal number. */
export const durationMsSchema = z.coerce.number().min(0).max(1e12);

/** A Date in whole seconds (the resolution of the `timestamp` columns), rounded down, not before 1970. */
export const toSeconds = (d: Date): number => Math.max(0, Math.floor(d.getTime() / 1000));
