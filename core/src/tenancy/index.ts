/** The organization model's operations: what the management API and the `canopy` CLI call. */
export { TenancyError, isTenancyError, translatePgError, type TenancyErrorCode } from './errors.js';
export { inTransaction, type Db, type Queryable } from './db.js';
export {
  SLUG_PATTERN,
  ORG_ROLES,
  WORKSPACE_ROLES,
  WORKSPACE_KEY_SCOPES,
  ACTOR_TYPES,
  slugSchema,
  nameSchema,
  emailSchema,
  orgRoleSchema,
  workspaceRoleSchema,
  retentionDaysSchema,
  idSchema,
  instantSchema,
  expiresAtSchema,
  workspaceKeyScopesSchema,
  actorSchema,
  createUserSchema,
  createOrganizationSchema,
  renameOrganizationSchema,
  updatePlanSchema,
  createWorkspaceSchema,
  updateWorkspaceSchema,
  addMemberSchema,
  inviteMemberSchema,
  setMemberRoleSchema,
  setWorkspaceMemberSchema,
  createWorkspaceKeySchema,
  createOrgUsageKeySchema,
  createPersonalTokenSchema,
  auditQuerySchema,
  bootstrapSchema,
  type OrgRole,
  type WorkspaceRole,
  type WorkspaceKeyScope,
  type Actor,
  type OrgRef,
  type WorkspaceRef,
  type CreateUserInput,
  type CreateOrganizationInput,
  type UpdatePlanInput,
  type CreateWorkspaceInput,
  type UpdateWorkspaceInput,
  type AddMemberInput,
  type InviteMemberInput,
  type CreateWorkspaceKeyInput,
  type CreateOrgUsageKeyInput,
  type CreatePersonalTokenInput,
  type AuditQuery,
  type BootstrapInput,
} from './schemas.js';
export { createUser, getUser, findUserByEmail, type User } from './users.js';
export {
  createOrganization,
  renameOrganization,
  getOrganization,
  listOrganizationsForUser,
  findOrganizationByName,
  createOrganizationWithWorkspaces,
  type Organization,
  type OrganizationRecord,
  type BootstrappedWorkspace,
} from './organizations.js';
export { getPlan, updatePlan, type Plan } from './plans.js';
export {
  createWorkspace,
  listWorkspaces,
  getWorkspace,
  getWorkspaceBySlug,
  lookupWorkspace,
  updateWorkspace,
  deleteWorkspace,
  type Workspace,
  type WorkspaceRecord,
} from './workspaces.js';
export { listMembers, getMember, addMember, setMemberRole, removeMember, type Member, type MemberWorkspaceRole, type MemberCheck } from './members.js';
export { inviteMember, listInvitations, revokeInvitation, acceptInvitation, INVITATION_TTL_DAYS, type Invitation } from './invitations.js';
export { setWorkspaceMember, removeWorkspaceMember, listWorkspaceMembers, type WorkspaceMember } from './workspace-members.js';
export { createWorkspaceKey, createOrgUsageKey, listKeys, lookupKey, revokeKey, type ApiKeyInfo } from './keys.js';
export { createPersonalToken, listPersonalTokens, revokePersonalToken, resolvePersonalToken, type PersonalTokenInfo } from './tokens.js';
export { recordAudit, listAudit, auditToCsv, csvCell, type AuditEntry, type AuditRecord, type AuditActorType } from './audit.js';
export { bootstrapOrganization, slugifyName, BOOTSTRAP_ACTOR, type BootstrapResult } from './bootstrap.js';
