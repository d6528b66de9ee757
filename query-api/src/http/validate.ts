import type { z } from 'zod';
import { QueryError } from '../errors.js';

export type RequestPart = 'params' | 'query' | 'body';

/**
 * Parses one part of a request; the first issue becomes a 400 `invalid` naming its
 * field (`email`, `scopes.0`, `limit`), or the part itself when the whole is wrong.
 */
export function parseRequestPart<S extends z.ZodType>(schema: S, value: unknown, part: RequestPart): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join('.') || part;
  throw new QueryError('invalid', `${field}: ${issue?.message ?? 'invalid value'}`, { field, cause: result.error });
}
