import { parseArgs } from 'node:util';
import { createOrganizationWithWorkspaces, findOrganizationByName, SLUG_PATTERN } from '@canopy/core';
import { CliError, usageError } from '../errors.js';
import { withPool, type CommandContext } from '../io.js';

export const bootstrapHelp = `Usage: canopy bootstrap --org <name> --workspaces <slug,slug,...> [--json]

Creates an organization with its workspaces and one ingest and one read API key
per workspace. The keys are printed once; Canopy stores only their hashes.

Options:
  --org <name>          organization name (must not exist yet)
  --workspaces <list>   comma-separated workspace slugs, e.g. dev,staging,prod
  --json                print one JSON object:
                        { "org": { "id", "name" },
                          "workspaces": [ { "id", "slug", "ingestKey", "readKey" } ] }`;

/** The contract of `bootstrap --json` (DESIGN.md, "CLI"). */
export interface BootstrapOutput {
  org: { id: string; name: string };
  workspaces: Array<{ id: string; slug: string; ingestKey: string; readKey: string }>;
  // TODO(tenancy): add `ownerToken` and `billingToken` once users, memberships and
  // personal tokens exist; the contract in DESIGN.md includes both.
}

const ORG_NAME = /^[^\p{Cc}]{1,100}$/u;

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

/** Postgres unique_violation: another process created the same organization first. */
function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown }).code === '23505';
}

export async function bootstrap(ctx: CommandContext, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { org: { type: 'string' }, workspaces: { type: 'string' }, json: { type: 'boolean', default: false } },
    strict: true,
    allowPositionals: false,
  });
  const name = parseOrgName(values.org, 'bootstrap');
  const slugs = parseSlugs(values.workspaces);
  const taken = () => new CliError(`organization ${JSON.stringify(name)} already exists; pick another name, or mint keys with \`canopy keys create --org ${JSON.stringify(name)} ...\``);

  const created = await withPool(ctx.config, async (pool) => {
    if (await findOrganizationByName(pool, name)) throw taken();
    try {
      return await createOrganizationWithWorkspaces(pool, { name, workspaceSlugs: slugs });
    } catch (err) {
      if (isUniqueViolation(err)) throw taken();
      throw err;
    }
  });

  const output: BootstrapOutput = {
    org: { id: created.org.id, name: created.org.name },
    workspaces: created.workspaces.map((w) => ({ id: w.id, slug: w.slug, ingestKey: w.ingestKey.key, readKey: w.readKey.key })),
  };
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
  ctx.print('Keep these keys now: they are not shown again (Canopy stores only their hashes).');
}
