import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { parseDocument } from 'yaml';
import { configSchema, loadConfig } from '@canopy/core';
import { freePort, waitFor, waitForHttp } from '@canopy/core/testing';

// The Docker side of deploy/: the compose file, the image's Dockerfile and entrypoint.
// No maintained copy of the Compose Specification's JSON schema is published on npm,
// so the file is checked by structure (the attributes the specification defines) and
// against Canopy's own settings. The stack itself starts only where a Docker engine
// answers; elsewhere that test is skipped and says why.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPOSE_FILE = path.join(ROOT, 'deploy/compose/docker-compose.yml');
const DOCKERFILE = path.join(ROOT, 'deploy/docker/Dockerfile');
const ENTRYPOINT = path.join(ROOT, 'deploy/docker/entrypoint.sh');
const CANOPY_SERVICES = ['migrate', 'collector', 'workers', 'query-api'];

// Service attributes of the Compose Specification (services.md).
const SERVICE_ATTRIBUTES = new Set(
  ('annotations attach blkio_config build cap_add cap_drop cgroup cgroup_parent command configs container_name cpu_count cpu_percent cpu_shares ' +
    'cpu_period cpu_quota cpu_rt_runtime cpu_rt_period cpus cpuset credential_spec depends_on deploy develop device_cgroup_rules devices dns ' +
    'dns_opt dns_search domainname driver_opts entrypoint env_file environment expose extends external_links extra_hosts gpus group_add ' +
    'healthcheck hostname image init ipc isolation labels label_file links logging mac_address mem_limit mem_reservation mem_swappiness ' +
    'memswap_limit models network_mode networks oom_kill_disable oom_score_adj pid pids_limit platform ports post_start pre_stop privileged ' +
    'profiles provider pull_policy read_only restart runtime scale secrets security_opt shm_size stdin_open stop_grace_period stop_signal ' +
    'storage_opt sysctls tmpfs tty ulimits use_api_socket user userns_mode uts volumes volumes_from working_dir').split(/\s+/),
);
const TOP_LEVEL = new Set(['name', 'version', 'include', 'services', 'networks', 'volumes', 'configs', 'secrets', 'models']);
const HEALTHCHECK = new Set(['test', 'interval', 'timeout', 'retries', 'start_period', 'start_interval', 'disable']);
const CONDITIONS = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: Record<string, unknown> & { test: string[] };
  ports?: string[];
  volumes?: string[];
  restart?: string;
}
interface Compose {
  name: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const doc = parseDocument(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true });
const compose = doc.toJS() as Compose;

/** Compose's variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, and $$ for a literal $. */
function interpolate(value: string, vars: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (match: string, ...groups: Array<string | undefined>) => {
    if (match === '$$') return '$';
    const [name, op, fallback] = groups;
    const v = vars[name!];
    if (op === ':-') return v ? v : (fallback ?? '');
    if (op === '-') return v ?? fallback ?? '';
    return v ?? '';
  });
}

function entrypointCommands(): string[] {
  return [...readFileSync(ENTRYPOINT, 'utf8').matchAll(/^\s+([a-z-]+)\) exec /gm)].map((m) => m[1]!);
}

describe('Docker Compose file (deploy/compose/docker-compose.yml)', () => {
  it('parses and uses only attributes of the Compose Specification', () => {
    expect(doc.errors.map((e) => e.message)).toEqual([]);
    for (const key of Object.keys(compose)) expect(TOP_LEVEL.has(key) || key.startsWith('x-'), `top-level ${key}`).toBe(true);
    for (const [name, service] of Object.entries(compose.services)) {
      expect(name).toMatch(/^[a-zA-Z0-9._-]+$/);
      for (const key of Object.keys(service)) expect(SERVICE_ATTRIBUTES.has(key), `${name}.${key}`).toBe(true);
      expect(service.image ?? service.build, `${name} has an image or a build`).toBeDefined();
      for (const key of Object.keys(service.healthcheck ?? {})) expect(HEALTHCHECK.has(key), `${name}.healthcheck.${key}`).toBe(true);
      for (const port of service.ports ?? []) expect(interpolate(port, {})).toMatch(/^(\d+:)?\d+$/);
    }
  });

  it('starts services in order: depends_on targets exist and can meet their condition', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [target, { condition }] of Object.entries(service.depends_on ?? {})) {
        const dep = compose.services[target];
        expect(dep, `${name} depends on ${target}`).toBeDefined();
        expect(CONDITIONS.has(condition), `${name} → ${target}: ${condition}`).toBe(true);
        if (condition === 'service_healthy') expect(dep!.healthcheck, `${target} needs a healthcheck for ${name}`).toBeDefined();
        if (condition === 'service_completed_successfully') expect(dep!.restart ?? 'no', `${target} must be a one-shot`).toBe('no');
      }
    }
    for (const name of ['collector', 'workers', 'query-api']) expect(compose.services[name]!.depends_on?.migrate?.condition).toBe('service_completed_successfully');
    expect(Object.keys(compose.services.migrate!.depends_on!).sort()).toEqual(['clickhouse', 'postgres']);
  });

  it('declares every named volume it mounts', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (!source.startsWith('.') && !source.startsWith('/')) expect(compose.volumes, `${name} mounts ${source}`).toHaveProperty(source);
      }
    }
  });

  it('builds Canopy from the one Dockerfile and runs each process by an entrypoint command', () => {
    const commands = entrypointCommands();
    for (const name of CANOPY_SERVICES) {
      const service = compose.services[name]!;
      expect(existsSync(path.join(ROOT, 'deploy/compose', service.build!.context, service.build!.dockerfile!)), name).toBe(true);
      expect(path.resolve(ROOT, 'deploy/compose', service.build!.context)).toBe(path.resolve(ROOT));
      expect(commands, name).toContain(service.command![0]);
    }
    expect(compose.services.collector!.environment!.NODE_OPTIONS).toContain('--max-semi-space-size=32');
    expect(compose.services.workers!.environment!.NODE_OPTIONS).toContain('--max-semi-space-size=32');
  });

  it('gives Canopy only its own settings, which load once interpolated', () => {
    const known = new Set([...Object.keys(configSchema.shape), 'NODE_OPTIONS']);
    for (const name of CANOPY_SERVICES) {
      const env = Object.fromEntries(Object.entries(compose.services[name]!.environment!).map(([k, v]) => [k, interpolate(String(v), {})]));
      for (const key of Object.keys(env)) expect(known.has(key), `${name}: ${key}`).toBe(true);
      const config = loadConfig(env);
      expect(new URL(config.clickhouse.url).hostname).toBe('clickhouse');
      expect(new URL(config.postgres.url).hostname).toBe('postgres');
      expect(new URL(config.redis.url).hostname).toBe('redis');
    }
    // Healthchecks probe the port the process listens on.
    expect(compose.services.collector!.healthcheck!.test.join(' ')).toContain(`:${compose.services.collector!.environment!.CANOPY_COLLECTOR_PORT}/readyz`);
    expect(compose.services['query-api']!.healthcheck!.test.join(' ')).toContain(`:${compose.services['query-api']!.environment!.CANOPY_API_PORT}/readyz`);
  });

  it('runs Redis with an append-only file and without eviction', () => {
    const args = compose.services.redis!.command!;
    const flag = (name: string): string | undefined => args[args.indexOf(name) + 1];
    expect(flag('--appendonly')).toBe('yes');
    expect(['always', 'everysec']).toContain(flag('--appendfsync'));
    expect(flag('--maxmemory-policy')).toBe('noeviction');
  });
});

describe('Canopy image (deploy/docker)', () => {
  it('copies the manifest of every npm workspace before installing', () => {
    const dockerfile = readFileSync(DOCKERFILE, 'utf8');
    const workspaces = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
    for (const ws of workspaces) expect(dockerfile, ws).toContain(`COPY ${ws}/package.json ${ws}/`);
    expect(dockerfile.indexOf('npm ci')).toBeLessThan(dockerfile.indexOf('COPY . .'));
    const ignore = readFileSync(`${DOCKERFILE}.dockerignore`, 'utf8').split('\n');
    for (const entry of ['**/node_modules', '**/dist', '.git']) expect(ignore).toContain(entry);
  });

  it('entrypoint runs the named process and refuses an unknown one', () => {
    const config = spawnSync('sh', [ENTRYPOINT, 'canopy', 'config'], { encoding: 'utf8', cwd: '/' });
    expect(config.status, config.stderr).toBe(0);
    expect(config.stdout).toContain('CANOPY_QUEUE_PREFIX');
    const unknown = spawnSync('sh', [ENTRYPOINT, 'compactor'], { encoding: 'utf8' });
    expect(unknown.status).toBe(64);
    expect(unknown.stderr).toMatch(/unknown command: compactor/);
    for (const command of entrypointCommands().filter((c) => c !== 'canopy' && c !== 'migrate')) {
      expect(existsSync(path.join(ROOT, command, 'src/main.ts')), command).toBe(true);
    }
  });
});

const engine = spawnSync('docker', ['info'], { encoding: 'utf8', timeout: 15_000 });
const composePlugin = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', timeout: 15_000 });
const skipReason =
  engine.status !== 0 ? 'no Docker engine answers `docker info`' : composePlugin.status !== 0 ? '`docker compose` (the Compose plugin) is not installed' : null;
if (skipReason) console.info(`[manifests-compose] skipping the compose stack start: ${skipReason}`);

describe.skipIf(skipReason !== null)('the compose stack on a Docker engine', () => {
  const project = `canopy-test-${randomBytes(3).toString('hex')}`;
  let env: Record<string, string> = {};
  const dc = (args: string[], timeout = 900_000): ReturnType<typeof spawnSync> =>
    spawnSync('docker', ['compose', '-p', project, '-f', COMPOSE_FILE, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout });
  afterAll(() => {
    dc(['down', '-v', '--remove-orphans'], 120_000);
  });

  it('builds, starts healthy, and carries a span from the collector to the query API', async () => {
    env = { CANOPY_COLLECTOR_PUBLISHED_PORT: String(await freePort()), CANOPY_API_PUBLISHED_PORT: String(await freePort()) };
    const up = dc(['up', '-d', '--build', '--wait']);
    expect(up.status, `${String(up.stdout)}${String(up.stderr)}`).toBe(0);
    await waitForHttp(`http://127.0.0.1:${env.CANOPY_COLLECTOR_PUBLISHED_PORT}/readyz`, 60_000);
    await waitForHttp(`http://127.0.0.1:${env.CANOPY_API_PUBLISHED_PORT}/healthz`, 60_000);

    const boot = dc(['run', '--rm', '-T', 'migrate', 'canopy', 'bootstrap', '--org', 'compose', '--workspaces', 'dev', '--json'], 300_000);
    expect(boot.status, String(boot.stderr)).toBe(0);
    const out = JSON.parse(String(boot.stdout).trim().split('\n').pop()!) as { workspaces: Array<{ id: string; ingestKey: string }>; ownerToken: string };
    const ws = out.workspaces[0]!;
    const traceId = randomBytes(16).toString('hex');
    const now = BigInt(Date.now()) * 1_000_000n;
    const span = { traceId, spanId: randomBytes(8).toString('hex'), name: 'compose', kind: 2, startTimeUnixNano: String(now), endTimeUnixNano: String(now + 1_000_000n) };
    const sent = await fetch(`http://127.0.0.1:${env.CANOPY_COLLECTOR_PUBLISHED_PORT}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ws.ingestKey}` },
      body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'compose' } }] }, scopeSpans: [{ spans: [span] }] }] }),
    });
    expect(sent.status).toBe(200);
    await waitFor(
      async () => {
        const r = await fetch(`http://127.0.0.1:${env.CANOPY_API_PUBLISHED_PORT}/api/v1/workspaces/${ws.id}/traces/${traceId}`, { headers: { authorization: `Bearer ${out.ownerToken}` } });
        return r.ok && ((await r.json()) as { spans: unknown[] }).spans.length === 1;
      },
      { timeoutMs: 60_000, what: 'the span through the query API' },
    );
  }, 1_200_000);
});
