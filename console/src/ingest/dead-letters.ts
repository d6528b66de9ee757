import { ApiError } from '../api/client';
import type { DeadLetter, DeadLetterStatus } from '../api/types';

/**
 * The dead-letter list's logic: the status filter in the URL, newest first, merging pages,
 * optimistic status changes and what to say when an action fails. Pure.
 */

export type DeadLetterFilter = DeadLetterStatus | 'all';
export const DEAD_LETTER_FILTERS: readonly DeadLetterFilter[] = ['open', 'replayed', 'discarded', 'all'];

/** `?status=` → a filter; open by default (what needs a decision). */
export function filterFromQuery(query: URLSearchParams): DeadLetterFilter {
  const v = query.get('status') ?? '';
  return (DEAD_LETTER_FILTERS as readonly string[]).includes(v) ? (v as DeadLetterFilter) : 'open';
}

/** Newest dead letter first (ties by id, so the order is stable). */
export function newestFirst(list: readonly DeadLetter[]): DeadLetter[] {
  return [...list].sort((a, b) => Date.parse(b.deadLetteredAt) - Date.parse(a.deadLetteredAt) || b.id.localeCompare(a.id));
}

/** The list so far plus the next page: an item already shown is replaced, not repeated. */
export function mergePage(shown: readonly DeadLetter[], page: readonly DeadLetter[]): DeadLetter[] {
  const byId = new Map(shown.map((d) => [d.id, d]));
  for (const d of page) byId.set(d.id, d);
  return newestFirst([...byId.values()]);
}

/** One item replaced (by id) with a changed copy. */
export function withItem(list: readonly DeadLetter[], id: string, change: (d: DeadLetter) => DeadLetter): DeadLetter[] {
  return list.map((d) => (d.id === id ? change(d) : d));
}

export type DeadLetterAction = 'replay' | 'discard';

/** The status an action leads to, shown at once while the request runs. */
export const STATUS_AFTER: Readonly<Record<DeadLetterAction, DeadLetterStatus>> = { replay: 'replayed', discard: 'discarded' };

/** Only open dead letters can be replayed or discarded. */
export const actionable = (d: DeadLetter): boolean => d.status === 'open';

/** What to tell the person when replay or discard fails. */
export function actionErrorMessage(error: unknown, action: DeadLetterAction): string {
  if (error instanceof ApiError) {
    if (error.status === 409) return 'Already replayed or discarded (by someone else, or in another tab).';
    if (error.status === 404) return 'This dead letter no longer exists.';
    if (error.status === 403) return 'Your role does not allow managing dead letters.';
    if (error.status === 0) return error.message;
    return `${action === 'replay' ? 'Replay' : 'Discard'} failed: ${error.message}`;
  }
  return `${action === 'replay' ? 'Replay' : 'Discard'} failed: ${(error as Error).message ?? String(error)}`;
}

/** The first rows of a batch as readable JSON. */
export function formatRows(rows: readonly unknown[]): string {
  return JSON.stringify(rows, null, 2);
}
