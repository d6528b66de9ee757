import { parseArgs } from 'node:util';
import { findOrganizationByName, findUserByEmail, setMemberRole } from '@canopy/core';
import { CliError, usageError } from '../errors.js';
import { withPool, type CommandContext } from '../io.js';
import { CLI_ACTOR } from './actor.js';
import { parseOrgName } from './bootstrap.js';
import { parseOrgRole } from './users.js';

export const membersHelp = `Usage:
  canopy members set-role --org <name> --email <email> --role <owner|admin|billing|member>

set-role   changes a member's role in the organization (recorded in its audit log);
           the last owner can never be demoted`;

async function setRole(ctx: CommandContext, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { org: { type: 'string' }, email: { type: 'string' }, role: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  const orgName = parseOrgName(values.org, 'members');
  if (!values.email) throw usageError('--email is required', 'members');
  const role = parseOrgRole(values.role, 'members');
  const member = await withPool(ctx.config, async (pool) => {
    const org = await findOrganizationByName(pool, orgName);
    if (!org) throw new CliError(`no organization named ${JSON.stringify(orgName)}`);
    const user = await findUserByEmail(pool, values.email!);
    if (!user) throw new CliError(`no user with email ${JSON.stringify(values.email)}`);
    return { org, updated: await setMemberRole(pool, CLI_ACTOR, { orgId: org.id, userId: user.id, role }) };
  });
  ctx.print(`${member.updated.email} is now ${member.updated.role} of ${member.org.name}`);
}

const SUBCOMMANDS: Record<string, (ctx: CommandContext, argv: string[]) => Promise<void>> = { 'set-role': setRole };

export async function members(ctx: CommandContext, argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const run = sub ? SUBCOMMANDS[sub] : undefined;
  if (!run) throw usageError(sub ? `unknown members command ${JSON.stringify(sub)}` : 'members needs a command: set-role', 'members');
  await run(ctx, rest);
}
