// The steps `npm start`, `npm test` and `npm run bench` share: install npm packages
// when needed, build, and run commands with a one-line header and their elapsed time.
// Plain Node ESM with no npm dependencies (it runs before `npm install`).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './services.mjs';

export { REPO_ROOT };

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
export const bold = (text) => paint('1', text);
export const dim = (text) => paint('2', text);
export const red = (text) => paint('31', text);

/** Prints `==> title`, runs `fn`, prints how long it took; returns what `fn` returns. */
export async function step(title, fn) {
  console.log(bold(`==> ${title}`));
  const started = Date.now();
  try {
    return await fn();
  } finally {
    console.log(dim(`    ${title}: ${elapsed(started)}`));
  }
}

export function elapsed(since) {
  const ms = Date.now() - since;
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Runs a command with inherited output; resolves to its exit code (127 when it cannot start). */
export function run(cmd, args, { env = process.env, cwd = REPO_ROOT } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio: 'inherit' });
    child.once('error', (err) => {
      console.error(red(`cannot run ${cmd}: ${err.message}`));
      resolve(127);
    });
    child.once('close', (code, signal) => resolve(code ?? 128 + (os.constants.signals[signal] ?? 0)));
  });
}

/** A step failed in a way already explained on screen; scripts exit with `code`. */
export class StepFailed extends Error {
  constructor(message, code = 1) {
    super(message);
    this.name = 'StepFailed';
    this.code = code;
  }
}

/** Why `npm install` must run, or null when node_modules matches package-lock.json. */
function installReason() {
  const modules = path.join(REPO_ROOT, 'node_modules');
  const marker = path.join(modules, '.package-lock.json'); // written by every npm install
  const lock = path.join(REPO_ROOT, 'package-lock.json');
  if (!fs.existsSync(modules)) return 'node_modules is missing';
  if (!fs.existsSync(marker)) return 'node_modules was not installed by npm';
  if (fs.existsSync(lock) && fs.statSync(lock).mtimeMs > fs.statSync(marker).mtimeMs) return 'package-lock.json is newer than node_modules';
  return null;
}

/** `npm install` (or `npm ci` in CI) when node_modules is missing or older than package-lock.json. */
export async function installIfNeeded({ env = process.env } = {}) {
  const reason = installReason();
  if (!reason) {
    console.log(dim('==> npm packages are up to date'));
    return;
  }
  const ci = env.CI === 'true' && fs.existsSync(path.join(REPO_ROOT, 'package-lock.json'));
  const args = ci ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'];
  await step(`Installing npm packages: npm ${args[0]} (${reason})`, async () => {
    const code = await run('npm', args, { env });
    if (code !== 0) throw new StepFailed(`npm ${args[0]} failed (exit ${code})`, code);
    // npm leaves the marker alone when nothing changed; touch it so the next run skips this step.
    const marker = path.join(REPO_ROOT, 'node_modules', '.package-lock.json');
    if (fs.existsSync(marker)) fs.utimesSync(marker, new Date(), new Date());
  });
}

/**
 * `npx turbo run build`. turbo refuses to run without a `packageManager` field in the
 * root package.json; until it has one, build with `tsc -b` over the root project
 * references, which is the same build in dependency order.
 */
export async function build({ env = process.env } = {}) {
  const root = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
  const turboCanRun = Boolean(root.packageManager || root.devEngines?.packageManager);
  const title = turboCanRun ? 'Building: npx turbo run build' : 'Building: npx tsc -b (turbo needs "packageManager" in package.json)';
  await step(title, async () => {
    const buildEnv = { ...env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' };
    const code = turboCanRun
      ? await run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], { env: buildEnv })
      : await run('npx', ['tsc', '-b'], { env: buildEnv });
    if (code !== 0) throw new StepFailed(`the build failed (exit ${code}); see the compiler output above`, code);
  });
}

/** Exits with a clear message for expected failures and a stack for the rest. */
export function exitOnError(err, ServiceError) {
  if (err instanceof StepFailed) {
    console.error(red(err.message));
    process.exit(err.code || 1);
  }
  if (ServiceError && err instanceof ServiceError) {
    console.error(red(err.message));
    process.exit(1);
  }
  console.error(err);
  process.exit(1);
}
