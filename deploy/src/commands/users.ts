import { parseArgs } from 'node:util';
import {
  addMember,
  createPersonalToken,
  createUser,
  findOrganizationByName,
  inTransaction,
  ORG_ROLES,
  type OrgRole,
} from '@canopy/core';
import { CliError, usageError } from '../errors.js';
import { withPool, type CommandContext } from '../io.js';
import { CLI_ACTOR } from './actor.js';
import { parseOrgName } from './bootstrap.js';

export const usersHelp = `Usage:
  canopy users add --email <email> [--name <text>] [--org <name> [--role <role>]] [--token] [--json]

add   creates a user; with --org, makes it a member of that organization (role
      member unless --role says owner, admin or billing); with --token, also mints a
      personal access token (printed once) to reach the query API with`;

export function parseOrgRole(raw: string | undefined, command: string): OrgRole {
  if (raw === undefined) throw usageError('--role is required', command);
  if (!(ORG_ROLES as readonly string[]).includes(raw)) throw usageError(`unknown role ${JSON.stringify(raw)}; use one of ${ORG_ROLES.join(', ')}`, command);
  return raw as OrgRole;
}

async function add(ctx: CommandContext, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      org: { type: 'string' },
      role: { type: 'string' },
      token: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (!values.email) throw usageError('--email is required', 'users');
  if (values.role !== undefined && values.org === undefined) throw usageError('--role needs --org: a role is held in an organization', 'users');
  const orgName = values.org === undefined ? undefined : parseOrgName(values.org, 'users');
  const role = orgName === undefined ? undefined : parseOrgRole(values.role ?? 'member', 'users');

  const result = await withPool(ctx.config, async (pool) => {
    const org = orgName === undefined ? null : await findOrganizationByName(pool, orgName);
    if (orgName !== undefined && !org) throw new CliError(`no organization named ${JSON.stringify(orgName)}`);
    // One transaction: a user is never left behind without the membership asked for.
    return inTransaction(pool, async (client) => {
      const user = await createUser(client, { email: values.email!, ...(values.name === undefined ? {} : { name: values.name }) });
      if (org && role) await addMember(client, CLI_ACTOR, { orgId: org.id, userId: user.id, role });
      const token = values.token ? await createPersonalToken(client, CLI_ACTOR, { userId: user.id, name: 'cli' }) : null;
      return { user, org, token };
    });
  });

  const { user, org, token } = result;
  if (values.json) {
    ctx.print(JSON.stringify({ id: user.id, email: user.email, name: user.name, ...(org ? { org: { id: org.id, name: org.name }, role } : {}), ...(token ? { token: token.token } : {}) }));
    return;
  }
  ctx.print(`Created user ${user.email} (${user.id})${org ? `, ${role} of ${org.name}` : ''}`);
  if (token) {
    ctx.print(`  personal access token: ${token.token}`);
    ctx.print('Keep it now: it is not shown again.');
  }
}

const SUBCOMMANDS: Record<string, (ctx: CommandContext, argv: string[]) => Promise<void>> = { add };

export async function users(ctx: CommandContext, argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const run = sub ? SUBCOMMANDS[sub] : undefined;
  if (!run) throw usageError(sub ? `unknown users command ${JSON.stringify(sub)}` : 'users needs a command: add', 'users');
  await run(ctx, rest);
}
