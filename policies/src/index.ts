export {
  ORG_ROLES,
  ORG_WIDE_ROLES,
  WORKSPACE_ROLES,
  isOrgRole,
  isWorkspaceRole,
  type OrgRole,
  type OrgWideRole,
  type WorkspaceRole,
} from './roles.js';
export { ACTIONS, isAction, type Action } from './actions.js';
export { ROLE_TABLE, ROLE_NAMES, isRoleName, roleGrant, rolesGranting, type RoleName, type RoleLevel, type RoleGrant } from './role-table.js';
export { CASBIN_MODEL } from './model.js';
export type { Subject, Scope, Decision, MatchedRule, Authorize, TenantFact } from './types.js';
export { createStaticPolicy, type StaticPolicy, type StaticPolicyOptions } from './static-policy.js';
export { loadTenantFacts, type LoadedFacts } from './load.js';
export { createPolicyEngine, POLICY_CHANNEL, type PolicyEngine, type PolicyEngineDeps, type PolicyEngineOptions } from './enforcer.js';
export { PolicyError, type PolicyErrorCode } from './errors.js';
