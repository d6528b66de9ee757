import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllTenants, createPgPool, findApiKeyByHash, hashSecret, resolvePersonalToken, sql } from '@canopy/core';
import { createTestEnv, type TestEnv } from '@canopy/core/testing';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `canopy` bin with the test slice's environment. */
function canopy(env: Record<string, string>, args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** An expected failure prints one clear message, never a stack trace. */
function expectCleanFailure(run: CliRun, code: number, message: RegExp): void {
  expect(run.code).toBe(code);
  expect(run.stderr).toMatch(message);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stdout).toBe('');
}

describe('canopy CLI', () => {
  let env: TestEnv;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npm test builds before running vitest)`);
    env = await createTestEnv();
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  describe('migrate', () => {
    const names = { ch: '', pg: '' };
    let freshEnv: Record<string, string>;

    beforeAll(() => {
      names.ch = `${env.config.clickhouse.database}_fresh`;
      names.pg = `canopy_${env.id}_fresh`;
      const url = new URL(env.config.postgres.url);
      url.pathname = `/${names.pg}`;
      freshEnv = { ...env.env, CANOPY_CLICKHOUSE_DATABASE: names.ch, CANOPY_DATABASE_URL: url.toString() };
    });
    afterAll(async () => {
      await env.clickhouse.command(sql`DROP DATABASE IF EXISTS ${sql.identifier(names.ch)}`);
      await env.pool.query(`DROP DATABASE IF EXISTS "${names.pg}" WITH (FORCE)`);
    });

    it('creates both databases, applies every migration and says which', async () => {
      const run = await canopy(freshEnv, ['migrate']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^ClickHouse ${names.ch} at .*: applied 1 \\(`, 'm'));
      expect(run.stdout).toMatch(new RegExp(`^Postgres .*/${names.pg}: applied 1 \\(`, 'm'));

      const tables = await env.clickhouse.query<{ name: string }>(AllTenants, sql`SELECT name FROM system.tables WHERE database = ${names.ch}`);
      expect(tables.map((t) => t.name)).toContain('schema_migrations');
      const pool = createPgPool(freshEnv.CANOPY_DATABASE_URL!, 1);
      try {
        const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'api_keys'");
        expect(rows[0]?.n).toBe('1');
      } finally {
        await pool.end();
      }
    });

    it('is safe to run again and then applies nothing', async () => {
      const run = await canopy(freshEnv, ['migrate']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^ClickHouse .*: up to date \(version \d+\)$/m);
      expect(run.stdout).toMatch(/^Postgres .*: up to date \(version \d+\)$/m);
      expect(run.stdout).not.toMatch(/applied/);
    });
  });

  describe('bootstrap', () => {
    const orgName = `acme-${Date.now().toString(36)}`;
    let output: {
      org: { id: string; name: string };
      workspaces: Array<{ id: string; slug: string; ingestKey: string; readKey: string }>;
      ownerToken: string;
      billingToken: string;
    };

    beforeAll(async () => {
      const run = await canopy(env.env, ['bootstrap', '--org', orgName, '--workspaces', 'dev,staging,prod', '--json']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      output = JSON.parse(run.stdout) as typeof output;
    });

    it('prints exactly one JSON object of the contract shape', () => {
      expect(Object.keys(output).sort()).toEqual(['billingToken', 'org', 'ownerToken', 'workspaces']);
      expect(output.ownerToken).toMatch(/^cnp_pat_/);
      expect(output.billingToken).toMatch(/^cnp_pat_/);
      expect(output.org).toEqual({ id: expect.stringMatching(/^org_/), name: orgName });
      expect(output.workspaces.map((w) => w.slug)).toEqual(['dev', 'staging', 'prod']);
      for (const w of output.workspaces) {
        expect(Object.keys(w).sort()).toEqual(['id', 'ingestKey', 'readKey', 'slug']);
        expect(w.id).toMatch(/^ws_/);
        expect(w.ingestKey).not.toBe(w.readKey);
      }
    });

    it('prints secrets whose hashes are stored as working keys of the right workspace and scope', async () => {
      for (const w of output.workspaces) {
        const ingest = await findApiKeyByHash(env.pool, hashSecret(w.ingestKey));
        const read = await findApiKeyByHash(env.pool, hashSecret(w.readKey));
        expect(ingest).toMatchObject({ orgId: output.org.id, workspaceId: w.id, scopes: ['ingest'] });
        expect(read).toMatchObject({ orgId: output.org.id, workspaceId: w.id, scopes: ['read'] });
      }
      const { rows } = await env.pool.query<{ n: string }>('SELECT count(*) AS n FROM api_keys WHERE key_hash = ANY($1)', [
        output.workspaces.flatMap((w) => [w.ingestKey, w.readKey]),
      ]);
      expect(rows[0]?.n).toBe('0'); // the secrets themselves are never stored
    });

    it('prints personal tokens of an owner and a billing user of the organization', async () => {
      const roles: Record<string, string> = {};
      for (const [label, token] of [['owner', output.ownerToken], ['billing', output.billingToken]] as const) {
        const resolved = await resolvePersonalToken(env.pool, token);
        expect(resolved).not.toBeNull();
        const { rows } = await env.pool.query<{ role: string }>('SELECT role FROM org_members WHERE org_id = $1 AND user_id = $2', [output.org.id, resolved!.userId]);
        roles[label] = rows[0]?.role ?? 'none';
      }
      expect(roles).toEqual({ owner: 'owner', billing: 'billing' });
    });

    it('records every step in the audit log as system/bootstrap', async () => {
      const { rows } = await env.pool.query<{ action: string; actor: string }>(
        "SELECT action, actor_type || '/' || actor_id AS actor FROM audit_log WHERE org_id = $1 ORDER BY id",
        [output.org.id],
      );
      expect(new Set(rows.map((r) => r.actor))).toEqual(new Set(['system/bootstrap']));
      expect(rows.map((r) => r.action)).toEqual(['org.create', 'member.add', ...output.workspaces.flatMap(() => ['workspace.create', 'key.create', 'key.create'])]);
    });

    it('refuses an organization name that is taken, in any letter case, with exit 1', async () => {
      const again = await canopy(env.env, ['bootstrap', '--org', orgName.toUpperCase(), '--workspaces', 'dev', '--json']);
      expectCleanFailure(again, 1, /already exists/);
      const { rows } = await env.pool.query<{ n: string }>('SELECT count(*) AS n FROM organizations WHERE lower(name) = lower($1)', [orgName]);
      expect(rows[0]?.n).toBe('1');
    });

    it('rejects an invalid workspace slug before touching the database', async () => {
      const run = await canopy(env.env, ['bootstrap', '--org', `${orgName}-2`, '--workspaces', 'dev,Not_A_Slug']);
      expectCleanFailure(run, 2, /invalid workspace slug "Not_A_Slug"/);
    });

    describe('keys', () => {
      let created: { id: string; key: string; prefix: string; scopes: string[] };

      it('creates a key for a workspace and prints its secret once', async () => {
        const run = await canopy(env.env, ['keys', 'create', '--org', orgName, '--workspace', 'staging', '--scopes', 'ingest,read', '--name', 'ci', '--json']);
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        created = JSON.parse(run.stdout) as typeof created;
        expect(created.scopes).toEqual(['ingest', 'read']);
        expect(created.key.startsWith(created.prefix)).toBe(true);
        const staging = output.workspaces.find((w) => w.slug === 'staging')!;
        expect(await findApiKeyByHash(env.pool, hashSecret(created.key))).toMatchObject({
          keyId: created.id,
          workspaceId: staging.id,
          scopes: ['ingest', 'read'],
        });
      });

      it('lists the workspace keys without their secrets', async () => {
        const run = await canopy(env.env, ['keys', 'list', '--org', orgName, '--workspace', 'staging', '--json']);
        expect(run.code).toBe(0);
        expect(run.stdout).not.toContain(created.key);
        const { keys } = JSON.parse(run.stdout) as { keys: Array<{ id: string; name: string; status: string; scopes: string[] }> };
        expect(keys.map((k) => k.name).sort()).toEqual(['ci', 'staging ingest', 'staging read']);
        expect(keys.find((k) => k.id === created.id)).toMatchObject({ status: 'active', scopes: ['ingest', 'read'] });
        const human = await canopy(env.env, ['keys', 'list', '--org', orgName, '--workspace', 'staging']);
        expect(human.stdout).toMatch(new RegExp(`^${created.id}\\s+${created.prefix}…\\s+ingest,read\\s+active\\s`, 'm'));
      });

      it('revokes a key so it no longer resolves, and says so when it is already revoked', async () => {
        const run = await canopy(env.env, ['keys', 'revoke', created.id]);
        expect(run.code).toBe(0);
        expect(run.stdout).toContain(`Revoked key ${created.id}`);
        expect(await findApiKeyByHash(env.pool, hashSecret(created.key))).toBeNull();
        const listed = JSON.parse((await canopy(env.env, ['keys', 'list', '--org', orgName, '--workspace', 'staging', '--json'])).stdout) as {
          keys: Array<{ id: string; status: string }>;
        };
        expect(listed.keys.find((k) => k.id === created.id)?.status).toBe('revoked');
        expectCleanFailure(await canopy(env.env, ['keys', 'revoke', created.id]), 1, /no active key/);
      });

      it('records key creation and revocation in the audit log as system/cli', async () => {
        const { rows } = await env.pool.query<{ action: string; actor_id: string }>(
          'SELECT action, actor_id FROM audit_log WHERE target_id = $1 ORDER BY id',
          [created.id],
        );
        expect(rows).toEqual([
          { action: 'key.create', actor_id: 'cli' },
          { action: 'key.revoke', actor_id: 'cli' },
        ]);
      });

      it('names the workspaces an organization has when the one asked for is unknown', async () => {
        const run = await canopy(env.env, ['keys', 'create', '--org', orgName, '--workspace', 'qa', '--scopes', 'ingest']);
        expectCleanFailure(run, 1, /has no workspace "qa" \(it has: [a-z, ]+\)/);
        expect(run.stderr.match(/it has: ([a-z, ]+)/)?.[1]?.split(', ').sort()).toEqual(['dev', 'prod', 'staging']);
      });

      it('rejects scopes a workspace key cannot carry as a usage error', async () => {
        expectCleanFailure(await canopy(env.env, ['keys', 'create', '--org', orgName, '--workspace', 'dev', '--scopes', 'admin']), 2, /unknown scope "admin"/);
        expectCleanFailure(await canopy(env.env, ['keys', 'create', '--org', orgName, '--workspace', 'dev', '--scopes', 'usage']), 2, /does not belong on a workspace key/);
      });
    });
  });

  describe('users and members', () => {
    const orgName = `people-${Date.now().toString(36)}`;
    let orgId: string;

    beforeAll(async () => {
      const run = await canopy(env.env, ['bootstrap', '--org', orgName, '--workspaces', 'dev', '--owner-email', `boss-${orgName}@example.test`, '--json']);
      expect(run.stderr).toBe('');
      orgId = (JSON.parse(run.stdout) as { org: { id: string } }).org.id;
    });

    const roleOf = async (email: string): Promise<string | undefined> => {
      const { rows } = await env.pool.query<{ role: string }>(
        'SELECT m.role FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND lower(u.email) = lower($2)',
        [orgId, email],
      );
      return rows[0]?.role;
    };

    it('adds a user to an organization with a role and a personal token', async () => {
      const email = `ann-${orgName}@example.test`;
      const run = await canopy(env.env, ['users', 'add', '--email', email, '--name', 'Ann', '--org', orgName, '--role', 'admin', '--token', '--json']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const added = JSON.parse(run.stdout) as { id: string; email: string; name: string; role: string; token: string };
      expect(added).toMatchObject({ email, name: 'Ann', role: 'admin', org: { id: orgId, name: orgName } });
      expect(await roleOf(email)).toBe('admin');
      expect(await resolvePersonalToken(env.pool, added.token)).toMatchObject({ userId: added.id });
    });

    it('adds a user without an organization', async () => {
      const run = await canopy(env.env, ['users', 'add', '--email', `solo-${orgName}@example.test`]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Created user solo-.*@example\.test \(usr_[^)]+\)$/m);
    });

    it('refuses a taken email and an unknown organization with exit 1, creating nobody', async () => {
      expectCleanFailure(await canopy(env.env, ['users', 'add', '--email', `ANN-${orgName}@example.test`]), 1, /a user with this email already exists/);
      const ghost = `ghost-${orgName}@example.test`;
      expectCleanFailure(await canopy(env.env, ['users', 'add', '--email', ghost, '--org', 'no-such-org']), 1, /no organization named "no-such-org"/);
      const { rows } = await env.pool.query('SELECT 1 FROM users WHERE lower(email) = lower($1)', [ghost]);
      expect(rows).toEqual([]);
    });

    it('rejects a bad email, an unknown role and --role without --org', async () => {
      expectCleanFailure(await canopy(env.env, ['users', 'add', '--email', 'not-an-email']), 1, /email/);
      expectCleanFailure(await canopy(env.env, ['users', 'add', '--email', `x-${orgName}@example.test`, '--org', orgName, '--role', 'emperor']), 2, /unknown role "emperor"/);
      expectCleanFailure(await canopy(env.env, ['users', 'add', '--email', `y-${orgName}@example.test`, '--role', 'admin']), 2, /--role needs --org/);
    });

    it("changes a member's role and records it in the audit log", async () => {
      const email = `ann-${orgName}@example.test`;
      const run = await canopy(env.env, ['members', 'set-role', '--org', orgName, '--email', email, '--role', 'billing']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`${email} is now billing of ${orgName}`);
      expect(await roleOf(email)).toBe('billing');
      const { rows } = await env.pool.query<{ actor_id: string; before: unknown; after: unknown }>(
        "SELECT actor_id, before, after FROM audit_log WHERE org_id = $1 AND action = 'member.update' ORDER BY id DESC LIMIT 1",
        [orgId],
      );
      expect(rows[0]).toEqual({ actor_id: 'cli', before: { role: 'admin' }, after: { role: 'billing' } });
    });

    it('never demotes the last owner, and says why', async () => {
      const run = await canopy(env.env, ['members', 'set-role', '--org', orgName, '--email', `boss-${orgName}@example.test`, '--role', 'admin']);
      expectCleanFailure(run, 1, /at least one owner/);
      expect(await roleOf(`boss-${orgName}@example.test`)).toBe('owner');
    });

    it('names what it cannot find', async () => {
      expectCleanFailure(await canopy(env.env, ['members', 'set-role', '--org', orgName, '--email', 'nobody@example.test', '--role', 'admin']), 1, /no user with email "nobody@example.test"/);
      expectCleanFailure(await canopy(env.env, ['members', 'set-role', '--org', orgName, '--email', `solo-${orgName}@example.test`, '--role', 'admin']), 1, /not a member/);
      expectCleanFailure(await canopy(env.env, ['members', 'set-role', '--org', 'no-such-org', '--email', 'x@example.test', '--role', 'admin']), 1, /no organization named/);
      expectCleanFailure(await canopy(env.env, ['members', 'set-role', '--org', orgName, '--email', 'x@example.test']), 2, /--role is required/);
    });
  });

  describe('errors', () => {
    it('tells the user to migrate when the schema is missing', async () => {
      const url = new URL(env.config.postgres.url);
      url.pathname = `/canopy_${env.id}_never_migrated`;
      const run = await canopy({ ...env.env, CANOPY_DATABASE_URL: url.toString() }, ['bootstrap', '--org', 'x', '--workspaces', 'dev']);
      expectCleanFailure(run, 1, /run `npx canopy migrate` first/);
    });

    it('says which Postgres it cannot reach', async () => {
      const run = await canopy({ ...env.env, CANOPY_DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:1/canopy' }, ['keys', 'list', '--org', 'x', '--workspace', 'dev']);
      expectCleanFailure(run, 1, /cannot reach Postgres at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/canopy/);
      expect(run.stderr).not.toContain('secret');
    });

    it('reports invalid configuration by variable name', async () => {
      expectCleanFailure(await canopy({ ...env.env, CANOPY_API_PORT: 'eighty' }, ['migrate']), 1, /CANOPY_API_PORT/);
    });

    it('rejects unknown commands and options with exit 2', async () => {
      expect((await canopy(env.env, ['frobnicate'])).code).toBe(2);
      expectCleanFailure(await canopy(env.env, ['bootstrap', '--org', 'x', '--workspaces', 'dev', '--force']), 2, /Unknown option '--force'/);
    });

    it('prints help for every command', async () => {
      for (const command of ['migrate', 'bootstrap', 'keys', 'users', 'members', 'config']) {
        const run = await canopy(env.env, [command, '--help']);
        expect(run.code).toBe(0);
        expect(run.stdout).toMatch(/^Usage:/);
      }
      const config = await canopy(env.env, ['config']);
      expect(config.stdout).toContain('`CANOPY_CLICKHOUSE_URL`');
    });
  });
});
