import { parseArgs } from 'node:util';
import {
  API_KEY_SCOPES,
  createApiKey,
  findOrganizationByName,
  listWorkspaces,
  revokeApiKey,
  type ApiKeyScope,
  type PgPool,
  type WorkspaceRecord,
} from '@canopy/core';
import { CliError, usageError } from '../errors.js';
import { withPool, type CommandContext } from '../io.js';
import { parseOrgName } from './bootstrap.js';

export const keysHelp = `Usage:
  canopy keys create --org <name> --workspace <slug> --scopes ingest[,read] [--name <text>] [--json]
  canopy keys list   --org <name> --workspace <slug> [--json]
  canopy keys revoke <keyId>

create   mints an API key for one workspace and prints its secret once
list     shows the workspace's keys (never their secrets)
revoke   revokes a key at once; collectors drop it from their caches`;

/** Scopes a workspace key may carry; org-wide usage keys come with the usage API. */
const WORKSPACE_SCOPES: readonly ApiKeyScope[] = ['ingest', 'read'];

function parseScopes(raw: string | undefined): ApiKeyScope[] {
  if (!raw) throw usageError('--scopes is required (ingest, read, or ingest,read)', 'keys');
  const scopes = [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
  for (const s of scopes) {
    if (!(API_KEY_SCOPES as readonly string[]).includes(s)) throw usageError(`unknown scope ${JSON.stringify(s)}; use ingest and/or read`, 'keys');
    if (!(WORKSPACE_SCOPES as readonly string[]).includes(s)) throw usageError(`scope ${JSON.stringify(s)} does not belong on a workspace key; use ingest and/or read`, 'keys');
  }
  if (scopes.length === 0) throw usageError('--scopes names no scope', 'keys');
  return scopes as ApiKeyScope[];
}

async function findWorkspace(pool: PgPool, orgName: string, slug: string | undefined): Promise<WorkspaceRecord> {
  if (!slug) throw usageError('--workspace <slug> is required', 'keys');
  const org = await findOrganizationByName(pool, orgName);
  if (!org) throw new CliError(`no organization named ${JSON.stringify(orgName)}`);
  const workspaces = await listWorkspaces(pool, org.id);
  const ws = workspaces.find((w) => w.slug === slug);
  if (!ws) throw new CliError(`organization ${JSON.stringify(org.name)} has no workspace ${JSON.stringify(slug)} (it has: ${workspaces.map((w) => w.slug).join(', ') || 'none'})`);
  return ws;
}

async function create(ctx: CommandContext, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      org: { type: 'string' },
      workspace: { type: 'string' },
      scopes: { type: 'string' },
      name: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const orgName = parseOrgName(values.org, 'keys');
  const scopes = parseScopes(values.scopes);
  const key = await withPool(ctx.config, async (pool) => {
    const ws = await findWorkspace(pool, orgName, values.workspace);
    const name = values.name?.trim() || `${ws.slug} ${scopes.join('+')} (cli)`;
    return { ws, name, created: await createApiKey(pool, { orgId: ws.orgId, workspaceId: ws.id, name, scopes }) };
  });
  if (values.json) {
    const { id, key: secret, prefix } = key.created;
    ctx.print(JSON.stringify({ id, key: secret, prefix, scopes, name: key.name, workspaceId: key.ws.id, orgId: key.ws.orgId }));
    return;
  }
  ctx.print(`Created key ${key.created.id} "${key.name}" for workspace ${key.ws.slug} (scopes: ${scopes.join(', ')})`);
  ctx.print(`  ${key.created.key}`);
  ctx.print('Keep it now: it is not shown again.');
}

interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

// TODO(core): move to core's key store as listApiKeys(db, workspaceId) when the query API needs it too.
async function listKeyRows(pool: PgPool, workspaceId: string): Promise<KeyRow[]> {
  const { rows } = await pool.query<KeyRow>(
    `SELECT id, name, prefix, scopes, created_at, last_used_at, expires_at, revoked_at
       FROM api_keys WHERE workspace_id = $1 ORDER BY created_at, id`,
    [workspaceId],
  );
  return rows;
}

function status(row: KeyRow, now: number): 'active' | 'revoked' | 'expired' {
  if (row.revoked_at) return 'revoked';
  if (row.expires_at && row.expires_at.getTime() <= now) return 'expired';
  return 'active';
}

async function list(ctx: CommandContext, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { org: { type: 'string' }, workspace: { type: 'string' }, json: { type: 'boolean', default: false } },
    strict: true,
    allowPositionals: false,
  });
  const orgName = parseOrgName(values.org, 'keys');
  const rows = await withPool(ctx.config, async (pool) => listKeyRows(pool, (await findWorkspace(pool, orgName, values.workspace)).id));
  const now = Date.now();
  const keys = rows.map((r) => ({
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    scopes: r.scopes,
    status: status(r, now),
    createdAt: r.created_at.toISOString(),
    lastUsedAt: r.last_used_at?.toISOString() ?? null,
    revokedAt: r.revoked_at?.toISOString() ?? null,
  }));
  if (values.json) {
    ctx.print(JSON.stringify({ keys }));
    return;
  }
  if (keys.length === 0) {
    ctx.print('no keys');
    return;
  }
  const table = [['ID', 'PREFIX', 'SCOPES', 'STATUS', 'CREATED', 'NAME'], ...keys.map((k) => [k.id, `${k.prefix}…`, k.scopes.join(','), k.status, k.createdAt, k.name])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) ctx.print(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

async function revoke(ctx: CommandContext, argv: string[]): Promise<void> {
  const { positionals } = parseArgs({ args: argv, options: {}, strict: true, allowPositionals: true });
  const [id, ...extra] = positionals;
  if (!id || extra.length) throw usageError('revoke takes exactly one key id', 'keys');
  const revoked = await withPool(ctx.config, (pool) => revokeApiKey(pool, id));
  if (!revoked) throw new CliError(`no active key with id ${JSON.stringify(id)} (unknown or already revoked)`);
  ctx.print(`Revoked key ${id}`);
}

const SUBCOMMANDS: Record<string, (ctx: CommandContext, argv: string[]) => Promise<void>> = { create, list, revoke };

export async function keys(ctx: CommandContext, argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const run = sub ? SUBCOMMANDS[sub] : undefined;
  if (!run) throw usageError(sub ? `unknown keys command ${JSON.stringify(sub)}` : 'keys needs a command: create, list or revoke', 'keys');
  await run(ctx, rest);
}
