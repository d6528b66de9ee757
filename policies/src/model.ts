import type { Action } from './actions.js';
import { ROLE_NAMES, ROLE_TABLE, type RoleLevel, type RoleName } from './role-table.js';

/**
 * The one Casbin model: RBAC with domains.
 *
 * A request is `(sub, org, ws, act)`: `sub` is `user:<id>` or `key:<id>`, `org` is
 * `org:<id>`, `ws` is `ws:<id>`, or "" for an org-level request.
 *
 * Tenant data arrives as grouping rows:
 * - `g, <sub>, <role>, <domain>`: the subject holds the role in `org:<id>` or `ws:<id>`;
 * - `g2, ws:<id>, org:<id>`: the workspace belongs to the org.
 * The role table arrives as
 * - `p, <role>, <level>`: the role counts when held in a domain of that level;
 * - `g3, <role>, <action>`: the role grants the action.
 * (The actions are grouping rows rather than one `p` row per (role, action) because
 * Casbin evaluates the matcher once per `p` row: ten rows instead of ~75 keep an
 * uncached decision at tens of microseconds.)
 *
 * Every `g`-type is served by `FlatRoleManager`: a link holds only if its row was loaded
 * (no inheritance chains, no "equal names are linked").
 *
 * Allowed when a role granting the action is held in the request's org (org-wide
 * roles) or in the request's workspace (workspace roles and keys), and the workspace,
 * when there is one, belongs to the request's org, so an id from another org never
 * matches. The matched `p` row is the rule reported to the audit log.
 */
export const CASBIN_MODEL = `
[request_definition]
r = sub, org, ws, act

[policy_definition]
p = role, level

[role_definition]
g = _, _, _
g2 = _, _
g3 = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g3(p.role, r.act) && ((p.level == "org" && g(r.sub, p.role, r.org)) || (p.level == "ws" && r.ws != "" && g(r.sub, p.role, r.ws))) && (r.ws == "" || g2(r.ws, r.org))
`;

/** The role table as Casbin rows: `p` (role, level) and `g3` (role, action). */
export function roleTableRows(): { p: [RoleName, RoleLevel][]; g3: [RoleName, Action][] } {
  const p: [RoleName, RoleLevel][] = [];
  const g3: [RoleName, Action][] = [];
  for (const role of ROLE_NAMES) {
    const grant = ROLE_TABLE[role];
    p.push([role, grant.level]);
    for (const action of grant.actions) g3.push([role, action]);
  }
  return { p, g3 };
}

// Casbin names. The prefixes keep subjects, roles and domains in disjoint namespaces, so
// a user id can never be read as a key id, or a workspace id as an org id.
export const userName = (id: string): string => `user:${id}`;
export const keyName = (id: string): string => `key:${id}`;
export const orgDomain = (id: string): string => `org:${id}`;
export const wsDomain = (id: string): string => `ws:${id}`;
