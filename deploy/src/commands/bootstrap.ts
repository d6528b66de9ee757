import { parseArgs } from 'node:util';
import { bootstrapOrganization, findOrganizationByName, isTenancyError, SLUG_PATTERN, type BootstrapResult } from '@canopy/core';
import { CliError, usageError } from '../errors.js';
import { withPool, type CommandContext } from '../io.js';

export const bootstrapHelp = `Usage: canopy bootstrap --org <name> --workspaces <slug,slug,...> [--owner-email <email>] [--billing-email <email>] [--json]

Creates, in one transaction, an organization with its workspaces, one ingest and one
read API key per workspace, an owner and a billing user, and a personal access token
for each of the two. The keys and tokens are printed once; Canopy stores only their
hashes. Every step is recorded in the organization's audit log (actor system/bootstrap).

Options:
  --org <name>            organization name (must not exist yet)
  --workspaces <list>     comma-separated workspace slugs, e.g. dev,staging,prod
  --owner-email <email>   the owner (an existing user is reused); default owner@<org>.local
  --billing-email <email> the billing user; default billing@<org>.local
  --json                  print one JSON object:
                          { "org": { "id", "name" },
                            "workspaces": [ { "id", "slug", "ingestKey", "readKey" } ],
                            "ownerToken", "billingToken" }`;

/** The contract of `bootstrap --json` (DESIGN.md, "CLI"). */
export type BootstrapOutput = BootstrapResult;

const ORG_NAME = /^[^\p{Cc}]{1,100}$/u;

/** The core's input fields that this command takes as flags, for error messages. */
const FLAGS: Record<string, string> = { ownerEmail: '--owner-email', billingEmail: '--billing-email' };

export function parseOrgName(raw: string | undefined, command: string): string {
  const name = raw?.trim();
  if (!name) throw usageError('--org <name> is required', command);
  if (!ORG_NAME.test(name)) throw usageError('--org must be 1 to 100 printable characters', command);
  return name;
}

function parseSlugs(raw: string | undefined): string[] {
  if (!raw) throw usageError('--workspaces <slug,slug,...> is required', 'bootstrap');
  const slugs = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (slugs.length === 0) throw usageError('--workspaces names no workspace', 'bootstrap');
  const bad = slugs.filter((s) => !SLUG_PATTERN.test(s));
  if (bad.length) throw usageError(`invalid workspace slug ${bad.map((s) => JSON.stringify(s)).join(', ')}: use a-z, 0-9 and - (max 63)`, 'bootstrap');
  const dupes = slugs.filter((s, i) => slugs.indexOf(s) !== i);
  if (dupes.length) throw usageError(`workspace ${JSON.stringify(dupes[0])} is listed twice`, 'bootstrap');
  return slugs;
}

export async function bootstrap(ctx: CommandContext, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      org: { type: 'string' },
      workspaces: { type: 'string' },
      'owner-email': { type: 'string' },
      'billing-email': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const name = parseOrgName(values.org, 'bootstrap');
  const slugs = parseSlugs(values.workspaces);
  const input = {
    name,
    workspaceSlugs: slugs,
    ...(values['owner-email'] === undefined ? {} : { ownerEmail: values['owner-email'] }),
    ...(values['billing-email'] === undefined ? {} : { billingEmail: values['billing-email'] }),
  };

  const taken = (): CliError =>
    new CliError(`organization ${JSON.stringify(name)} already exists; pick another name, or mint keys with \`canopy keys create --org ${JSON.stringify(name)} ...\``);
  const output = await withPool(ctx.config, async (pool) => {
    if (await findOrganizationByName(pool, name)) throw taken();
    try {
      return await bootstrapOrganization(pool, input);
    } catch (err) {
      if (isTenancyError(err, 'conflict') && err.field === 'name') throw taken();
      if (isTenancyError(err) && err.field !== undefined && err.field in FLAGS) {
        throw new CliError(err.message.replaceAll(/\b(ownerEmail|billingEmail)\b/g, (field) => FLAGS[field]!), err.code === 'invalid' ? 2 : 1);
      }
      throw err;
    }
  });

  if (values.json) {
    ctx.print(JSON.stringify(output));
    return;
  }
  ctx.print(`Created organization ${output.org.name} (${output.org.id})`);
  for (const w of output.workspaces) {
    ctx.print(`  workspace ${w.slug} (${w.id})`);
    ctx.print(`    ingest key: ${w.ingestKey}`);
    ctx.print(`    read key:   ${w.readKey}`);
  }
  ctx.print(`  owner token:   ${output.ownerToken}`);
  ctx.print(`  billing token: ${output.billingToken}`);
  ctx.print('Keep these keys and tokens now: they are not shown again (Canopy stores only their hashes).');
}
