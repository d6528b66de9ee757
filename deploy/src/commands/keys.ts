import { parseArgs } from 'node:util';
import {
  API_KEY_SCOPES,
  createWorkspaceKey,
  findOrganizationByName,
  listKeys,
  listWorkspaces,
  lookupKey,
  revokeKey,
  WORKSPACE_KEY_SCOPES,
  type ApiKeyInfo,
  type PgPool,
  type WorkspaceKeyScope,
  type WorkspaceRecord,
} from '@canopy/core';
import { CliError, usageError } from '../errors.js';
import { withPool, type CommandContext } from '../io.js';
import { CLI_ACTOR } from './actor.js';
import { parseOrgName } from './bootstrap.js';

export const keysHelp = `Usage:
  canopy keys create --org <name> --workspace <slug> --scopes ingest[,read] [--name <text>] [--json]
  canopy keys list   --org <name> --workspace <slug> [--json]
  canopy keys revoke <keyId>

create   mints an API key for one workspace and prints its secret once
list     shows the workspace's keys (never their secrets)
revoke   revokes a key at once; collectors and query APIs drop it within a second

create and revoke are recorded in the organization's audit log (actor system/cli).`;

function parseScopes(raw: string | undefined): WorkspaceKeyScope[] {
  if (!raw) throw usageError('--scopes is required (ingest, read, or ingest,read)', 'keys');
  const scopes = [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
  for (const s of scopes) {
    if (!(API_KEY_SCOPES as readonly string[]).includes(s)) throw usageError(`unknown scope ${JSON.stringify(s)}; use ingest and/or read`, 'keys');
    if (!(WORKSPACE_KEY_SCOPES as readonly string[]).includes(s)) throw usageError(`scope ${JSON.stringify(s)} does not belong on a workspace key; use ingest and/or read`, 'keys');
  }
  if (scopes.length === 0) throw usageError('--scopes names no scope', 'keys');
  return scopes as WorkspaceKeyScope[];
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
    return { ws, name, created: await createWorkspaceKey(pool, CLI_ACTOR, { orgId: ws.orgId, workspaceId: ws.id, name, scopes }) };
  });
  if (values.json) {
    const { id, key: secret, prefix } = key.created;
    ctx.print(JSON.stringify({ id, key: secret, prefix, scopes: key.created.scopes, name: key.name, workspaceId: key.ws.id, orgId: key.ws.orgId }));
    return;
  }
  ctx.print(`Created key ${key.created.id} "${key.name}" for workspace ${key.ws.slug} (scopes: ${key.created.scopes.join(', ')})`);
  ctx.print(`  ${key.created.key}`);
  ctx.print('Keep it now: it is not shown again.');
}

function status(key: ApiKeyInfo, now: number): 'active' | 'revoked' | 'expired' {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt && key.expiresAt.getTime() <= now) return 'expired';
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
  const rows = await withPool(ctx.config, async (pool) => {
    const ws = await findWorkspace(pool, orgName, values.workspace);
    return listKeys(pool, ws.orgId, ws.id);
  });
  const now = Date.now();
  // Oldest first, as an operator reads a table.
  const keys = rows.reverse().map((k) => ({
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    status: status(k, now),
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
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
  await withPool(ctx.config, async (pool) => {
    const key = await lookupKey(pool, id);
    if (!key || key.revokedAt) throw new CliError(`no active key with id ${JSON.stringify(id)} (unknown or already revoked)`);
    await revokeKey(pool, CLI_ACTOR, { orgId: key.orgId, workspaceId: key.workspaceId, keyId: id });
  });
  ctx.print(`Revoked key ${id}`);
}

const SUBCOMMANDS: Record<string, (ctx: CommandContext, argv: string[]) => Promise<void>> = { create, list, revoke };

export async function keys(ctx: CommandContext, argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const run = sub ? SUBCOMMANDS[sub] : undefined;
  if (!run) throw usageError(sub ? `unknown keys command ${JSON.stringify(sub)}` : 'keys needs a command: create, list or revoke', 'keys');
  await run(ctx, rest);
}
