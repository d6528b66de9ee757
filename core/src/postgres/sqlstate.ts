/**
 * SQLSTATE classes that say "Postgres cannot answer now", not "this is refused":
 * connection (08), transaction rollback (40: serialization, deadlock), resources (53),
 * operator intervention (57: shutdown, crash recovery), system (58).
 */
const TRANSIENT_SQLSTATE_CLASSES = new Set(['08', '40', '53', '57', '58']);

/** Whether a SQLSTATE belongs to a class worth retrying (see TRANSIENT_SQLSTATE_CLASSES). */
export function isTransientSqlState(state: string): boolean {
  return TRANSIENT_SQLSTATE_CLASSES.has(state.slice(0, 2));
}
