import { ACTIONS, ROLE_TABLE, type Action, type Decision, type RoleName, type Scope } from '@canopy/policies';

/** A role held by a subject, in an org or in one workspace. */
export interface Grant {
  role: RoleName;
  held: { orgId: string } | { workspaceId: string };
}

/**
 * What the role table says about a request, written out plainly and independently of
 * the Casbin model: the decision the model must reproduce.
 */
export function expectedAllowed(request: { grants: readonly Grant[]; scope: Scope; action: Action }, workspaceOrg: ReadonlyMap<string, string>): boolean {
  const { grants, scope, action } = request;
  if (scope.workspaceId !== undefined && workspaceOrg.get(scope.workspaceId) !== scope.orgId) return false;
  return grants.some(({ role, held }) => {
    const grant = ROLE_TABLE[role];
    if (!(grant.actions as readonly Action[]).includes(action)) return false;
    if ('orgId' in held) return grant.level === 'org' && held.orgId === scope.orgId;
    return grant.level === 'ws' && held.workspaceId === scope.workspaceId;
  });
}

/** Every (action, expected, actual) that disagrees, so one failing test names all of them. */
export function mismatches(
  grants: readonly Grant[],
  scope: Scope,
  check: { workspaceOrg: ReadonlyMap<string, string>; decide: (action: Action) => Decision },
): string[] {
  const { workspaceOrg, decide } = check;
  const wrong: string[] = [];
  for (const action of ACTIONS) {
    const want = expectedAllowed({ grants, scope, action }, workspaceOrg);
    const got = decide(action);
    if (got.allowed !== want) wrong.push(`${action}: expected ${want ? 'allow' : 'deny'}, got ${got.allowed ? 'allow' : 'deny'}`);
    else if (got.allowed) {
      const rule = got.rule;
      const ok =
        rule !== undefined &&
        rule.action === action &&
        grants.some((g) => g.role === rule.role && rule.domain === ('orgId' in g.held ? `org:${g.held.orgId}` : `ws:${g.held.workspaceId}`));
      if (!ok) wrong.push(`${action}: allowed by an unexpected rule ${JSON.stringify(rule)}`);
    }
  }
  return wrong;
}
