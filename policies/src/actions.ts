/**
 * Everything a subject can ask to do. Routes and services name one of these when they
 * call `authorize`; the role table says who may.
 */
export const ACTIONS = [
  // the organization itself
  'org:read',
  'org:update',
  'org:delete',
  'plan:update',
  'price:update',
  // workspaces
  'workspace:create',
  'workspace:read',
  'workspace:update',
  'workspace:delete',
  // people: org membership, the owner role, workspace membership
  'member:read',
  'member:invite',
  'member:update',
  'member:remove',
  'owner:manage',
  'workspace_member:manage',
  // API keys
  'key:read',
  'key:create',
  'key:revoke',
  // records about the org, not trace content
  'audit:read',
  'usage:read',
  'billing:read',
  'ingest_ledger:read',
  // trace content (spans may hold prompts and personal data)
  'trace:read',
  'analytics:read',
  'deadletter:manage',
  // the collector
  'span:ingest',
] as const;

export type Action = (typeof ACTIONS)[number];

const ACTION_SET: ReadonlySet<string> = new Set(ACTIONS);

export function isAction(value: string): value is Action {
  return ACTION_SET.has(value);
}
