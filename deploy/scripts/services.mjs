// Makes sure ClickHouse, Postgres and Redis answer where the configuration says they
// are, starting local ones that do not (and installing ClickHouse/Redis with apt-get
// when root). Plain Node ESM with no npm dependencies: it runs before `npm install`.
//
//   import { ensureServices } from './services.mjs';
//   const services = await ensureServices({ env: process.env, log: console.log });
//   ...
//   await services.stop(); // stops only what this call started
//
// Run directly, `node deploy/scripts/services.mjs [clickhouse] [postgres] [redis]`
// starts what is missing and keeps it running until Ctrl-C; `--check` only reports.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SERVICE_NAMES = ['clickhouse', 'postgres', 'redis'];

const DEFAULT_URLS = {
  clickhouse: 'http://127.0.0.1:8123',
  postgres: 'postgres://postgres@127.0.0.1:5432/canopy',
  redis: 'redis://127.0.0.1:6379',
};
const LOCAL_HOSTS = new Set(['', 'localhost', '127.0.0.1', '::1', '0.0.0.0', '::']);
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;

/** A failure the user can act on; scripts print its message without a stack. */
export class ServiceError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ServiceError';
  }
}

/**
 * Ensures the services in `need` answer. Returns which ones this call started and a
 * `stop()` that stops exactly those (in reverse order); safe to call twice.
 */
export async function ensureServices({ env = process.env, log = (line) => console.log(line), need = SERVICE_NAMES, root = REPO_ROOT } = {}) {
  for (const name of need) if (!SERVICE_NAMES.includes(name)) throw new TypeError(`unknown service ${JSON.stringify(name)}`);
  const ctx = { env, log, root };
  const ensure = { clickhouse: ensureClickHouse, postgres: ensurePostgres, redis: ensureRedis };
  const results = await Promise.allSettled(need.map((name) => ensure[name](ctx)));
  const handles = [];
  results.forEach((r, i) => {
    if (r.status === 'fulfilled' && r.value) handles.push({ name: need[i], stop: r.value.stop });
  });
  let stopping;
  const stop = () =>
    (stopping ??= (async () => {
      for (const h of [...handles].reverse()) {
        try {
          await h.stop();
        } catch (err) {
          log(`${h.name}: could not stop cleanly: ${err.message}`);
        }
      }
    })());
  const failures = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
  if (failures.length) {
    await stop();
    const unexpected = failures.find((e) => !(e instanceof ServiceError));
    if (unexpected) throw unexpected;
    throw new ServiceError(failures.map((e) => e.message).join('\n'));
  }
  return { started: handles.map((h) => h.name), stop };
}

// ---------------------------------------------------------------- ClickHouse

async function ensureClickHouse({ env, log, root }) {
  const url = configuredUrl(env, 'CANOPY_CLICKHOUSE_URL', 'clickhouse');
  const shown = redact(url);
  if (await pingClickHouse(url)) {
    log(`ClickHouse: answering at ${shown}`);
    return null;
  }
  const howTo = `start ClickHouse yourself and set CANOPY_CLICKHOUSE_URL to it (for example CANOPY_CLICKHOUSE_URL=http://127.0.0.1:8123)`;
  if (!isLocal(url.hostname) || url.protocol !== 'http:') {
    throw new ServiceError(`ClickHouse is not answering at ${shown}, which is not a local plain-HTTP address, so it is not started here: ${howTo}.`);
  }
  const port = Number(url.port || 8123);
  const dir = path.join(root, '.canopy', port === 8123 ? 'clickhouse' : `clickhouse-${port}`);
  if (await waitForEarlierStart(dir, 'clickhouse', () => pingClickHouse(url), log)) return null;

  let bin = findExecutable('clickhouse-server', env);
  if (!bin) {
    log('ClickHouse: clickhouse-server is not installed');
    await aptInstall('clickhouse-server', { log, what: 'ClickHouse', otherwise: howTo });
    bin = findExecutable('clickhouse-server', env);
    if (!bin) throw new ServiceError(`apt-get installed clickhouse-server but no clickhouse-server binary was found; ${howTo}.`);
    // The package's own service may have started on the same port.
    if (await pingClickHouse(url)) {
      log(`ClickHouse: the newly installed server answers at ${shown}`);
      return null;
    }
  }

  fs.mkdirSync(path.join(dir, 'log'), { recursive: true });
  for (const file of ['config.xml', 'users.xml']) fs.copyFileSync(path.join(root, 'deploy', 'clickhouse', file), path.join(dir, file));
  const tcpPort = (await tcpReachable({ host: '127.0.0.1', port: 9000 })) ? await freePort() : 9000;
  const args = [`--config-file=${path.join(dir, 'config.xml')}`, '--', `--http_port=${port}`, `--tcp_port=${tcpPort}`];
  log(`ClickHouse: starting ${bin} on port ${port} (data in ${path.relative(process.cwd(), dir) || '.'})`);
  return startDaemon({
    name: 'ClickHouse',
    bin,
    args,
    dir,
    logFile: path.join(dir, 'stdout.log'),
    extraLogs: [path.join(dir, 'log', 'clickhouse-server.err.log')],
    ready: () => pingClickHouse(url),
    log,
  });
}

async function pingClickHouse(url) {
  const ping = new URL(url);
  ping.username = '';
  ping.password = '';
  ping.search = '';
  ping.pathname = `${ping.pathname.replace(/\/+$/, '')}/ping`;
  try {
    const res = await fetch(ping, { signal: AbortSignal.timeout(2_000) });
    const body = await res.text();
    return res.ok && body.startsWith('Ok');
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- Postgres

async function ensurePostgres({ env, log }) {
  const url = configuredUrl(env, 'CANOPY_DATABASE_URL', 'postgres');
  const target = postgresTarget(url);
  const shown = redact(url);
  if (await tcpReachable(target)) {
    log(`Postgres: reachable at ${shown}`);
    return null;
  }
  const howTo = 'start Postgres yourself and set CANOPY_DATABASE_URL to it (for example CANOPY_DATABASE_URL=postgres://postgres@127.0.0.1:5432/canopy; the user needs the right to create databases)';
  if (!isLocal(target.host ?? '')) throw new ServiceError(`Postgres is not reachable at ${shown}, which is not local, so it is not started here: ${howTo}.`);
  const ctl = findExecutable('pg_ctlcluster', env);
  const cluster = ctl ? findPgCluster(target.port) : null;
  if (!ctl || !cluster) {
    throw new ServiceError(`Postgres is not reachable at ${shown} and no local cluster was found to start (${ctl ? `no cluster in /etc/postgresql/*/main is configured for port ${target.port}` : 'pg_ctlcluster is missing'}): ${howTo}.`);
  }
  log(`Postgres: starting cluster ${cluster.version}/main with pg_ctlcluster`);
  const ctlArgs = (action) => ['--skip-systemctl-redirect', cluster.version, 'main', action];
  const started = spawnSync(ctl, ctlArgs('start'), { encoding: 'utf8' });
  if (started.status !== 0) {
    throw new ServiceError(`pg_ctlcluster ${cluster.version} main start failed (exit ${started.status}): ${(started.stderr || started.stdout || '').trim()}\n${howTo}.`);
  }
  if (!(await waitUntil(() => tcpReachable(target), START_TIMEOUT_MS))) {
    throw new ServiceError(`Postgres cluster ${cluster.version}/main started but ${shown} is still unreachable after ${START_TIMEOUT_MS / 1000} s: ${howTo}.`);
  }
  log(`Postgres: ready at ${shown}`);
  return {
    async stop() {
      log(`Postgres: stopping cluster ${cluster.version}/main`);
      const r = spawnSync(ctl, ctlArgs('stop'), { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`pg_ctlcluster stop exited ${r.status}: ${(r.stderr || '').trim()}`);
    },
  };
}

/** Where node-postgres connects for this URL: a TCP host/port or a Unix socket. */
function postgresTarget(url) {
  const port = Number(url.port || url.searchParams.get('port') || 5432);
  const hostParam = url.searchParams.get('host');
  if (!url.hostname && hostParam?.startsWith('/')) return { path: path.join(hostParam, `.s.PGSQL.${port}`), host: '', port };
  return { host: unbracket(url.hostname || hostParam || 'localhost'), port };
}

/** The installed cluster serving `port` (else the newest), from /etc/postgresql/<version>/main. */
function findPgCluster(port) {
  let versions;
  try {
    versions = fs.readdirSync('/etc/postgresql').filter((v) => fs.existsSync(`/etc/postgresql/${v}/main/postgresql.conf`));
  } catch {
    return null;
  }
  versions.sort((a, b) => Number(b) - Number(a));
  const portOf = (v) => Number(/^\s*port\s*=\s*(\d+)/m.exec(fs.readFileSync(`/etc/postgresql/${v}/main/postgresql.conf`, 'utf8'))?.[1] ?? 5432);
  const version = versions.find((v) => portOf(v) === port);
  return version ? { version } : null;
}

// ---------------------------------------------------------------- Redis

async function ensureRedis({ env, log, root }) {
  const url = configuredUrl(env, 'CANOPY_REDIS_URL', 'redis');
  const target = { host: unbracket(url.hostname || '127.0.0.1'), port: Number(url.port || 6379) };
  const shown = redact(url);
  if (await tcpReachable(target)) {
    log(`Redis: reachable at ${shown}`);
    return null;
  }
  const howTo = 'start Redis yourself and set CANOPY_REDIS_URL to it (for example CANOPY_REDIS_URL=redis://127.0.0.1:6379)';
  if (!isLocal(target.host) || url.protocol !== 'redis:') {
    throw new ServiceError(`Redis is not reachable at ${shown}, which is not a local plain redis:// address, so it is not started here: ${howTo}.`);
  }
  const dir = path.join(root, '.canopy', target.port === 6379 ? 'redis' : `redis-${target.port}`);
  if (await waitForEarlierStart(dir, 'redis', () => tcpReachable(target), log)) return null;

  let bin = findExecutable('redis-server', env);
  if (!bin) {
    log('Redis: redis-server is not installed');
    await aptInstall('redis-server', { log, what: 'Redis', otherwise: howTo });
    bin = findExecutable('redis-server', env);
    if (!bin) throw new ServiceError(`apt-get installed redis-server but no redis-server binary was found; ${howTo}.`);
    if (await tcpReachable(target)) {
      log(`Redis: the newly installed server answers at ${shown}`);
      return null;
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  const args = ['--port', String(target.port), '--bind', '127.0.0.1', '--daemonize', 'no', '--save', '', '--appendonly', 'no', '--dir', dir];
  if (url.password) args.push('--requirepass', decodeURIComponent(url.password));
  log(`Redis: starting ${bin} on port ${target.port} (no persistence; files in ${path.relative(process.cwd(), dir) || '.'})`);
  return startDaemon({
    name: 'Redis',
    bin,
    args,
    dir,
    logFile: path.join(dir, 'redis.log'),
    extraLogs: [],
    ready: () => tcpReachable(target),
    log,
  });
}

// ---------------------------------------------------------------- processes

/**
 * Starts a server as a detached child (its own process group, so a Ctrl-C in the
 * terminal reaches only the script, which stops things in order), with output in
 * `logFile` and a pid file in `dir`; waits until `ready()`.
 */
async function startDaemon({ name, bin, args, dir, logFile, extraLogs, ready, log }) {
  const pidFile = path.join(dir, 'server.pid');
  const logs = [logFile, ...extraLogs].map((file) => ({ file, from: sizeOf(file) }));
  const out = fs.openSync(logFile, 'a');
  let child;
  try {
    child = spawn(bin, args, { cwd: dir, detached: true, stdio: ['ignore', out, out] });
  } finally {
    fs.closeSync(out);
  }
  let exited = null;
  const exit = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve((exited = { code, signal })));
    child.once('error', (err) => resolve((exited = { code: null, signal: null, error: err })));
  });
  child.unref();
  if (child.pid) fs.writeFileSync(pidFile, `${child.pid}\n`);

  const started = Date.now();
  const ok = await waitUntil(async () => exited !== null || (await ready()), START_TIMEOUT_MS);
  if (!ok || exited) {
    if (!exited) await terminate(child, exit, 5_000);
    fs.rmSync(pidFile, { force: true });
    const why = exited?.error ? exited.error.message : exited ? `it exited (${exited.signal ?? `code ${exited.code}`})` : `it did not answer within ${START_TIMEOUT_MS / 1000} s`;
    throw new ServiceError(`${name} failed to start: ${why}.\n${tailOf(logs)}`);
  }
  log(`${name}: ready after ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${child.pid})`);
  return {
    async stop() {
      log(`${name}: stopping (pid ${child.pid})`);
      await terminate(child, exit, STOP_TIMEOUT_MS);
      fs.rmSync(pidFile, { force: true });
    },
  };
}

/** SIGTERM, wait up to `timeoutMs` for the exit, then SIGKILL. */
async function terminate(child, exit, timeoutMs) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer;
  const timedOut = new Promise((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
  const late = await Promise.race([exit.then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) {
    child.kill('SIGKILL');
    await exit;
  }
}

/**
 * A server an earlier run started may still be coming up (or a run was killed and
 * left it running): when the pid file names a live process of that program, wait for
 * it instead of starting a second one on the same data directory.
 */
async function waitForEarlierStart(dir, program, ready, log) {
  const pidFile = path.join(dir, 'server.pid');
  let pid;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    return false;
  }
  if (!isRunning(pid, program)) {
    fs.rmSync(pidFile, { force: true });
    return false;
  }
  log(`${program}: waiting for the server an earlier run started (pid ${pid})`);
  if (await waitUntil(ready, START_TIMEOUT_MS)) {
    log(`${program}: answering (pid ${pid}, started by an earlier run; it keeps running after this one)`);
    return true;
  }
  throw new ServiceError(`${program} (pid ${pid}, from ${pidFile}) is running but does not answer; stop it (kill ${pid}) and try again.`);
}

function isRunning(pid, program) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(program);
  } catch {
    return true; // no /proc: trust the pid file
  }
}

// ---------------------------------------------------------------- installing

// ClickHouse and Redis are ensured in parallel; dpkg takes one install at a time.
let aptQueue = Promise.resolve();

function aptInstall(pkg, options) {
  const next = aptQueue.then(() => aptInstallNow(pkg, options));
  aptQueue = next.catch(() => undefined);
  return next;
}

async function aptInstallNow(pkg, { log, what, otherwise }) {
  const apt = findExecutable('apt-get', process.env);
  if (!apt) throw new ServiceError(`${what} is not installed and this machine has no apt-get to install it with: ${otherwise}.`);
  if (process.getuid?.() !== 0) {
    throw new ServiceError(`${what} is not installed and installing it needs root: run \`sudo apt-get install -y ${pkg}\` and try again, or ${otherwise}.`);
  }
  log(`${what}: installing Debian's ${pkg} (apt-get install -y --no-install-recommends ${pkg})`);
  const run = (args) => runLines(apt, args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, onLine: (line) => log(`  apt-get: ${line}`) });
  const install = ['install', '-y', '--no-install-recommends', pkg];
  if ((await run(install)) === 0) return;
  log(`${what}: install failed; refreshing package lists (apt-get update) and retrying`);
  await run(['update']);
  const code = await run(install);
  if (code !== 0) throw new ServiceError(`apt-get install ${pkg} failed (exit ${code}); see the apt-get lines above, or ${otherwise}.`);
}

function runLines(cmd, args, { env, onLine }) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        const lines = (rest + chunk).split(/\r?\n|\r/);
        rest = lines.pop();
        for (const l of lines) if (l.trim()) onLine(l);
      });
      stream.on('end', () => rest.trim() && onLine(rest));
    }
    child.once('error', (err) => (onLine(err.message), resolve(127)));
    child.once('close', (code) => resolve(code ?? 1));
  });
}

// ---------------------------------------------------------------- small helpers

function configuredUrl(env, variable, service) {
  const value = env[variable] || DEFAULT_URLS[service];
  try {
    return new URL(value);
  } catch {
    throw new ServiceError(`${variable}=${JSON.stringify(value)} is not a URL (default ${DEFAULT_URLS[service]})`);
  }
}

function findExecutable(name, env) {
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/usr/bin', '/usr/local/bin', '/sbin', '/bin'];
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return null;
}

function isLocal(host) {
  return LOCAL_HOSTS.has(unbracket(host));
}

function unbracket(host) {
  return host.replace(/^\[(.*)\]$/, '$1');
}

function redact(url) {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString().replace(/\/$/, '');
}

/** True when a TCP (or Unix socket) connection opens within 2 s. */
export function tcpReachable(target) {
  return new Promise((resolve) => {
    const socket = target.path ? net.connect({ path: target.path }) : net.connect({ host: target.host, port: target.port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitUntil(check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

function sizeOf(file) {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** The last lines each log gained since `from` (its size before the start). */
function tailOf(logs, lines = 15) {
  const parts = [];
  for (const { file, from } of logs) {
    try {
      const text = fs.readFileSync(file).subarray(from).toString('utf8').trimEnd();
      if (text) parts.push(`--- last lines of ${file}\n${text.split('\n').slice(-lines).join('\n')}`);
    } catch {
      // no such log yet
    }
  }
  return parts.join('\n') || '(no log output)';
}

// ---------------------------------------------------------------- run directly

async function main(argv) {
  const check = argv.includes('--check');
  const need = argv.filter((a) => !a.startsWith('--'));
  const unknown = need.filter((n) => !SERVICE_NAMES.includes(n));
  if (unknown.length) throw new ServiceError(`unknown service ${unknown.join(', ')}; use ${SERVICE_NAMES.join(', ')}`);
  if (check) {
    // Report only: ensureServices would start things, so probe each the same way it does.
    const env = process.env;
    const ch = configuredUrl(env, 'CANOPY_CLICKHOUSE_URL', 'clickhouse');
    const pg = postgresTarget(configuredUrl(env, 'CANOPY_DATABASE_URL', 'postgres'));
    const rd = configuredUrl(env, 'CANOPY_REDIS_URL', 'redis');
    const status = {
      clickhouse: await pingClickHouse(ch),
      postgres: await tcpReachable(pg),
      redis: await tcpReachable({ host: unbracket(rd.hostname || '127.0.0.1'), port: Number(rd.port || 6379) }),
    };
    for (const name of need.length ? need : SERVICE_NAMES) console.log(`${name}: ${status[name] ? 'up' : 'down'}`);
    return (need.length ? need : SERVICE_NAMES).every((n) => status[n]) ? 0 : 1;
  }
  const services = await ensureServices({ need: need.length ? need : SERVICE_NAMES });
  if (services.started.length === 0) {
    console.log('All services were already running.');
    return 0;
  }
  console.log(`Started ${services.started.join(', ')}; press Ctrl-C to stop ${services.started.length === 1 ? 'it' : 'them'}.`);
  const keepAlive = setInterval(() => undefined, 1 << 30);
  await new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(signal, resolve);
  });
  clearInterval(keepAlive);
  await services.stop();
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof ServiceError ? err.message : err);
      process.exit(1);
    },
  );
}
