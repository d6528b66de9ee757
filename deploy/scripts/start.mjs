// `npm start`: install what is missing, build, make sure ClickHouse/Postgres/Redis run,
// migrate, create the demo organization on the first run, then run the collector,
// workers and query API in the foreground until Ctrl-C. Safe to run again.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { ensureServices, ServiceError } from './services.mjs';
import { REPO_ROOT, StepFailed, bold, build, dim, exitOnError, installIfNeeded, red, run, step } from './steps.mjs';

const DEMO_ORG = 'demo';
const DEMO_WORKSPACES = ['dev', 'staging', 'prod'];
const CHILD_STOP_TIMEOUT_MS = 15_000;
const PROGRAMS = [
  // A 32 MB young generation: collector and workers allocate many short-lived strings per
  // span, and the default semi-space makes them spend ~17% of their time in GC
  // (`npm run bench -- ingest` measured +20% end-to-end throughput with it). The collector's
  // heap is capped so garbage from a Redis stall is collected before RSS balloons.
  { name: 'collector', main: 'collector/dist/main.js', color: '36', nodeArgs: ['--max-semi-space-size=32', '--max-old-space-size=512'] },
  { name: 'workers', main: 'workers/dist/main.js', color: '35', nodeArgs: ['--max-semi-space-size=32'] },
  { name: 'query-api', main: 'query-api/dist/main.js', color: '33', nodeArgs: [] },
];

const cli = (args, options) => run(process.execPath, [path.join(REPO_ROOT, 'deploy', 'dist', 'cli.js'), ...args], options);

/** Runs the CLI capturing stdout (stderr passes through). */
function cliOutput(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'deploy', 'dist', 'cli.js'), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.once('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

async function demoOrganization() {
  // npm packages are installed and built by now, so core can answer directly.
  const { loadConfig, createPgPool, findOrganizationByName } = await import('@canopy/core');
  const config = loadConfig(process.env);
  const pool = createPgPool(config.postgres.url, 1);
  let exists;
  try {
    exists = Boolean(await findOrganizationByName(pool, DEMO_ORG));
  } finally {
    await pool.end();
  }
  const mint = `npx canopy keys create --org ${DEMO_ORG} --workspace dev --scopes ingest`;
  if (exists) {
    console.log(`The "${DEMO_ORG}" organization exists (its keys were shown on the first run; only their hashes are stored).`);
    console.log(`Mint a new ingest key with: ${bold(mint)}`);
    return;
  }
  const { code, out } = await cliOutput(['bootstrap', '--org', DEMO_ORG, '--workspaces', DEMO_WORKSPACES.join(','), '--json']);
  if (code !== 0) {
    console.log(red(`Could not create the "${DEMO_ORG}" organization (see above); continuing without it.`));
    return;
  }
  const result = JSON.parse(out);
  const dev = result.workspaces.find((w) => w.slug === 'dev');
  console.log(`Created the "${DEMO_ORG}" organization (${result.org.id}) with workspaces ${DEMO_WORKSPACES.join(', ')}.`);
  console.log('');
  console.log(bold('Send traces to the dev workspace from any OpenTelemetry SDK with:'));
  console.log('');
  console.log(`  OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:${config.collector.port}`);
  console.log(`  OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20${dev.ingestKey}`);
  console.log('  OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf');
  console.log('  OTEL_SERVICE_NAME=my-service');
  console.log('');
  console.log('All keys (ingest = send spans, read = query API):');
  for (const w of result.workspaces) {
    console.log(`  ${w.slug.padEnd(8)} ingest ${w.ingestKey}`);
    console.log(`  ${''.padEnd(8)} read   ${w.readKey}`);
  }
  if (result.ownerToken) {
    console.log('');
    console.log('Sign in to the console (and call the query API) with a personal token:');
    console.log(`  owner   ${result.ownerToken}`);
    console.log(`  billing ${result.billingToken}   (usage and billing only, no trace content)`);
  }
  console.log(bold('These secrets are shown only now: Canopy stores only their hashes.'));
  console.log(`Mint another later with: ${mint}`);
}

/** Streams a child's output line by line behind its name. */
function prefixLines(stream, label, target) {
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => target.write(`${label} ${line}\n`));
}

function spawnPrograms() {
  const missing = PROGRAMS.filter((p) => !fs.existsSync(path.join(REPO_ROOT, p.main)));
  if (missing.length) {
    throw new StepFailed(
      missing.map((p) => `${p.main} is missing: the ${p.name} package has no build output (does ${p.main.replace('dist/', 'src/').replace(/\.js$/, '.ts')} exist, and did the build succeed?)`).join('\n'),
    );
  }
  const width = Math.max(...PROGRAMS.map((p) => p.name.length));
  const color = process.stdout.isTTY && !process.env.NO_COLOR;
  const env = { ...process.env, CANOPY_LOG_PRETTY: process.env.CANOPY_LOG_PRETTY ?? 'true' };
  return PROGRAMS.map((p) => {
    // Own process group: a Ctrl-C reaches only this script, which stops them in order.
    const child = spawn(process.execPath, [...p.nodeArgs, path.join(REPO_ROOT, p.main)], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const label = color ? `\x1b[${p.color}m${p.name.padEnd(width)} |\x1b[0m` : `${p.name.padEnd(width)} |`;
    prefixLines(child.stdout, label, process.stdout);
    prefixLines(child.stderr, label, process.stderr);
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    return { ...p, child, exited };
  });
}

async function waitForHealth(config) {
  const urls = [`http://127.0.0.1:${config.collector.port}/healthz`, `http://127.0.0.1:${config.api.port}/healthz`];
  const deadline = Date.now() + 30_000;
  const up = async (url) => {
    try {
      return (await fetch(url, { signal: AbortSignal.timeout(1_000) })).ok;
    } catch {
      return false;
    }
  };
  while (Date.now() < deadline) {
    if ((await Promise.all(urls.map(up))).every(Boolean)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function main() {
  const startedAt = Date.now();
  let programs = [];
  let shuttingDown = false;
  let interrupted = null;
  let onSignal;
  const signalled = new Promise((resolve) => (onSignal = resolve));
  // Handled from the first moment, so a Ctrl-C during set-up still stops what was started.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (shuttingDown) {
        console.log(red('second signal: killing the services now'));
        for (const p of programs) p.child.kill('SIGKILL');
        return;
      }
      interrupted ??= signal;
      onSignal({ signal });
    });
  }
  const checkInterrupted = () => {
    if (interrupted) throw new StepFailed(`interrupted (${interrupted})`, 130);
  };

  await installIfNeeded();
  checkInterrupted();
  await build();
  checkInterrupted();
  const services = await step('Checking ClickHouse, Postgres and Redis', () => ensureServices({ log: (line) => console.log(`    ${line}`) }));

  const stopAll = async (reason) => {
    shuttingDown = true;
    const running = programs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    if (running.length) console.log(dim(`==> Stopping ${running.map((p) => p.name).join(', ')} (${reason})`));
    for (const p of running) p.child.kill('SIGTERM');
    const timeout = new Promise((resolve) => setTimeout(resolve, CHILD_STOP_TIMEOUT_MS, 'timeout').unref());
    if ((await Promise.race([Promise.all(running.map((p) => p.exited)), timeout])) === 'timeout') {
      for (const p of running) {
        if (p.child.exitCode === null && p.child.signalCode === null) {
          console.log(red(`${p.name} did not stop within ${CHILD_STOP_TIMEOUT_MS / 1000} s; killing it`));
          p.child.kill('SIGKILL');
        }
      }
      await Promise.all(running.map((p) => p.exited));
    }
    if (services.started.length) console.log(dim(`==> Stopping ${services.started.join(', ')} (started by this run)`));
    await services.stop();
  };
  // Never leave children behind, whatever ends this process.
  process.on('exit', () => {
    for (const p of programs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  });

  try {
    checkInterrupted();
    await step('Migrating ClickHouse and Postgres', async () => {
      const code = await cli(['migrate']);
      if (code !== 0) throw new StepFailed(`canopy migrate failed (exit ${code})`, code);
    });
    checkInterrupted();
    await step(`Demo organization "${DEMO_ORG}"`, demoOrganization);
    checkInterrupted();
    console.log(bold('==> Starting collector, workers and query API'));
    programs = spawnPrograms();
  } catch (err) {
    await stopAll('start failed');
    throw err;
  }

  const { loadConfig } = await import('@canopy/core');
  const config = loadConfig(process.env);
  void waitForHealth(config).then((ok) => {
    if (shuttingDown) return;
    console.log(
      ok
        ? bold(`==> Canopy is up after ${((Date.now() - startedAt) / 1000).toFixed(1)} s: collector http://localhost:${config.collector.port}, query API http://localhost:${config.api.port}/api/v1, console http://localhost:${config.api.port}/ (Ctrl-C stops it)`)
        : red('==> collector or query API did not answer /healthz within 30 s; see their logs above'),
    );
  });

  const crashed = Promise.race(programs.map((p) => p.exited.then((how) => ({ program: p, how }))));
  const first = await Promise.race([signalled, crashed]);
  if (first.signal) {
    await stopAll(first.signal);
    console.log('Stopped.');
    return 0;
  }
  const { program, how } = first;
  console.error(red(`${program.name} exited unexpectedly (${how.signal ?? `exit code ${how.code}`}); stopping the rest`));
  await stopAll(`${program.name} exited`);
  return how.code || 1;
}

main().then(
  (code) => process.exit(code),
  (err) => exitOnError(err, ServiceError),
);
