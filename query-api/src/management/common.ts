import { z } from 'zod';
import type { RouteContext } from '../http/route.js';

/** An instant on the wire: ISO 8601 in UTC. */
export const timestamp = z.iso.datetime().describe('ISO 8601 instant, UTC');

export const iso = (d: Date): string => d.toISOString();
export const isoOrNull = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/**
 * After a change to who may do what (members, workspaces, keys): reloads this process's
 * policy before answering, so the caller's next request already sees the change. Other
 * processes learn of it through Postgres NOTIFY. A failed reload is logged, not thrown:
 * the change is committed, and the next notification or periodic reload catches up.
 */
export async function policyChanged(ctx: Pick<RouteContext, 'deps'>): Promise<void> {
  await ctx.deps.policy.reload().catch((err: unknown) => ctx.deps.log.warn({ err }, 'policy reload after a change failed; relying on the next one'));
}
