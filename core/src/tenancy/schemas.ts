import { z } from 'zod';

/**
 * Input schemas of the tenancy operations. The query API reuses them for request
 * validation and its OpenAPI document, so they describe the wire shape: dates may
 * arrive as ISO strings and are coerced.
 */

export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const ORG_ROLES = ['owner', 'admin', 'billing', 'member'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];
export const WORKSPACE_ROLES = ['admin', 'developer', 'viewer'] as const;
export type WorkspaceRole = (typeof WORKSPACE_ROLES)[number];
export const WORKSPACE_KEY_SCOPES = ['ingest', 'read'] as const;
export type WorkspaceKeyScope = (typeof WORKSPACE_KEY_SCOPES)[number];
export const ACTOR_TYPES = ['user', 'api_key', 'system'] as const;

export const slugSchema = z.string().regex(SLUG_PATTERN, 'use 1–63 characters a-z, 0-9 and -, starting with a letter or digit');
export const nameSchema = z.string().trim().min(1).max(200);
export const emailSchema = z.string().trim().max(320).pipe(z.email());
export const orgRoleSchema = z.enum(ORG_ROLES);
export const workspaceRoleSchema = z.enum(WORKSPACE_ROLES);
export const retentionDaysSchema = z.number().int().min(1).max(3650);
export const idSchema = z.string().min(1).max(100);
/**
 * An instant on the wire: epoch milliseconds (a number or a digit string) or an ISO
 * string. The operations also take a Date for it: `parseInput` turns top-level Date
 * values into ISO strings first, so these schemas stay representable as JSON Schema.
 */
export const instantSchema = z
  .union([z.number().int().min(0), z.string().regex(/^\d{1,15}$/), z.iso.datetime({ offset: true }), z.iso.date()])
  .transform((v) => new Date(typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v))
  .refine((d) => !Number.isNaN(d.getTime()), 'not a valid instant');
/** A future instant, or null/undefined for "never expires". */
export const expiresAtSchema = instantSchema
  .refine((d) => d.getTime() > Date.now(), 'must be in the future')
  .nullish();
export const workspaceKeyScopesSchema = z
  .array(z.enum(WORKSPACE_KEY_SCOPES))
  .min(1)
  .transform((scopes) => WORKSPACE_KEY_SCOPES.filter((s) => scopes.includes(s)));

/** An organization an operation acts in. */
export interface OrgRef {
  orgId: string;
}

/** A workspace an operation acts in, with the organization it must belong to. */
export interface WorkspaceRef {
  orgId: string;
  workspaceId: string;
}

/** Who performs a change; recorded in the audit log. */
export const actorSchema = z.object({
  type: z.enum(ACTOR_TYPES),
  id: z.string().min(1),
  ip: z.string().nullish(),
});
export type Actor = z.input<typeof actorSchema>;

export const createUserSchema = z.object({ email: emailSchema, name: z.string().trim().max(200).default('') });
export const createOrganizationSchema = z.object({ name: nameSchema });
export const renameOrganizationSchema = z.object({ name: nameSchema });
export const updatePlanSchema = z
  .object({
    plan: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/).optional(),
    monthlySpanQuota: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable().optional(),
    ingestRateLimitPerS: z.number().int().min(1).max(2_147_483_647).nullable().optional(),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), 'nothing to update');

export const createWorkspaceSchema = z.object({
  slug: slugSchema,
  name: nameSchema.optional(),
  retentionDays: retentionDaysSchema.optional(),
});
export const updateWorkspaceSchema = z
  .object({ name: nameSchema.optional(), retentionDays: retentionDaysSchema.optional() })
  .refine((p) => p.name !== undefined || p.retentionDays !== undefined, 'nothing to update');

export const addMemberSchema = z
  .object({ userId: idSchema.optional(), email: emailSchema.optional(), role: orgRoleSchema })
  .refine((m) => (m.userId === undefined) !== (m.email === undefined), { message: 'give exactly one of userId and email', path: ['userId'] });
export const inviteMemberSchema = z.object({ email: emailSchema, role: orgRoleSchema });
export const setMemberRoleSchema = z.object({ role: orgRoleSchema });
export const setWorkspaceMemberSchema = z.object({ role: workspaceRoleSchema });

export const createWorkspaceKeySchema = z.object({ name: nameSchema, scopes: workspaceKeyScopesSchema, expiresAt: expiresAtSchema });
export const createOrgUsageKeySchema = z.object({ name: nameSchema, expiresAt: expiresAtSchema });
export const createPersonalTokenSchema = z.object({ name: nameSchema, expiresAt: expiresAtSchema });

export const auditQuerySchema = z.object({
  actorId: z.string().min(1).optional(),
  action: z.string().min(1).max(100).optional(),
  targetType: z.string().min(1).max(100).optional(),
  targetId: z.string().min(1).optional(),
  from: instantSchema.optional(),
  to: instantSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().min(1).optional(),
});

export const bootstrapSchema = z.object({
  name: nameSchema,
  workspaceSlugs: z
    .array(slugSchema)
    .max(100)
    .refine((s) => new Set(s).size === s.length, 'workspace slugs must be distinct'),
  ownerEmail: emailSchema.optional(),
  billingEmail: emailSchema.optional(),
});

/** A schema's input type, where instant fields may also be given as a Date. */
type WithDates<T> = { [K in keyof T]: K extends 'expiresAt' | 'from' | 'to' ? T[K] | Date : T[K] };

export type CreateUserInput = z.input<typeof createUserSchema>;
export type CreateOrganizationInput = z.input<typeof createOrganizationSchema>;
export type UpdatePlanInput = z.input<typeof updatePlanSchema>;
export type CreateWorkspaceInput = z.input<typeof createWorkspaceSchema>;
export type UpdateWorkspaceInput = z.input<typeof updateWorkspaceSchema>;
export type AddMemberInput = z.input<typeof addMemberSchema>;
export type InviteMemberInput = z.input<typeof inviteMemberSchema>;
export type CreateWorkspaceKeyInput = WithDates<z.input<typeof createWorkspaceKeySchema>>;
export type CreateOrgUsageKeyInput = WithDates<z.input<typeof createOrgUsageKeySchema>>;
export type CreatePersonalTokenInput = WithDates<z.input<typeof createPersonalTokenSchema>>;
export type AuditQuery = WithDates<z.input<typeof auditQuerySchema>>;
export type BootstrapInput = z.input<typeof bootstrapSchema>;
