import type { z } from 'zod';

export type TenancyErrorCode = 'not_found' | 'conflict' | 'invalid' | 'last_owner' | 'expired';

/**
 * The tenancy layer's one error class. `code` is bounded (the API maps it to a status:
 * not_found → 404, conflict → 409, invalid → 400, last_owner → 409, expired → 410);
 * `field` names the input field at fault when there is one.
 */
export class TenancyError extends Error {
  readonly field: string | undefined;

  constructor(
    readonly code: TenancyErrorCode,
    message: string,
    options: { field?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TenancyError';
    this.field = options.field;
  }
}

export function isTenancyError(err: unknown, code?: TenancyErrorCode): err is TenancyError {
  return err instanceof TenancyError && (code === undefined || err.code === code);
}

/** Parses `input` with `schema`; the first issue becomes an `invalid` error naming its field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, fieldPrefix?: string): z.output<S> {
  const result = schema.safeParse(datesToWire(input));
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [fieldPrefix, ...(issue?.path ?? []).map(String)].filter((p) => p !== undefined && p !== '').join('.');
  const field = path || fieldPrefix || 'input';
  throw new TenancyError('invalid', `${field}: ${issue?.message ?? 'invalid value'}`, { field, cause: result.error });
}

/** Top-level Date values of an object input become ISO strings, the form the schemas take. */
function datesToWire(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input) || input instanceof Date) return input;
  const entries = Object.entries(input).map(([k, v]) => [k, v instanceof Date && !Number.isNaN(v.getTime()) ? v.toISOString() : v]);
  return Object.fromEntries(entries);
}

interface PgDatabaseError {
  code: string;
  constraint?: string;
}

function isPgError(err: unknown): err is PgDatabaseError {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' && (err as { code: string }).code.length === 5;
}

/** Unique constraints of the schema (postgres/schema.ts) → the input field they guard. */
const UNIQUE_FIELDS: Record<string, { field: string; message: string }> = {
  organizations_name_key: { field: 'name', message: 'an organization with this name already exists' },
  workspaces_org_id_slug_key: { field: 'slug', message: 'a workspace with this slug already exists in the organization' },
  users_email_key: { field: 'email', message: 'a user with this email already exists' },
  org_members_pkey: { field: 'userId', message: 'the user is already a member of the organization' },
  workspace_members_pkey: { field: 'userId', message: 'the user already has a role in the workspace' },
};

/** Foreign keys of the schema → the referenced thing that does not exist. */
const FOREIGN_KEY_FIELDS: Record<string, string> = {
  workspaces_org_id_fkey: 'orgId',
  api_keys_org_id_fkey: 'orgId',
  api_keys_workspace_id_fkey: 'workspaceId',
  org_members_org_id_fkey: 'orgId',
  org_members_user_id_fkey: 'userId',
  workspace_members_workspace_id_fkey: 'workspaceId',
  workspace_members_user_id_fkey: 'userId',
  invitations_org_id_fkey: 'orgId',
  invitations_invited_by_fkey: 'invitedBy',
  personal_tokens_user_id_fkey: 'userId',
  org_plans_org_id_fkey: 'orgId',
};

/**
 * Translates a Postgres error into a TenancyError by its SQLSTATE and constraint name
 * (never by message text); anything else is returned unchanged.
 */
export function translatePgError(err: unknown): unknown {
  if (err instanceof TenancyError || !isPgError(err)) return err;
  const constraint = err.constraint ?? '';
  switch (err.code) {
    case '23505': {
      const known = UNIQUE_FIELDS[constraint];
      return new TenancyError('conflict', known?.message ?? `duplicate value (${constraint || 'unique constraint'})`, {
        ...(known ? { field: known.field } : {}),
        cause: err,
      });
    }
    case '23503': {
      const field = FOREIGN_KEY_FIELDS[constraint];
      return new TenancyError('not_found', field ? `${field} does not exist` : 'a referenced record does not exist', {
        ...(field ? { field } : {}),
        cause: err,
      });
    }
    case '23514':
    case '22P02':
    case '22003':
      return new TenancyError('invalid', 'a value is out of range or malformed', { cause: err });
    default:
      return err;
  }
}
