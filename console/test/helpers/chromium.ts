import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * The flags the browser test runs Chromium with: headless, no sandbox (tests run as root),
 * and no background traffic (this machine's network is closed, so Chromium's own calls to
 * Google's services would only fail noisily).
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Makes sure Debian's Chromium is installed: installs it with apt-get when missing and this
 * process may (root, apt-get present). Resolves to the executable, or to the reason the
 * browser test must be skipped. Never downloads a browser build of its own.
 */
export function ensureChromium(): { ok: true; executablePath: string } | { ok: false; reason: string } {
  if (fs.existsSync(CHROMIUM_PATH)) return { ok: true, executablePath: CHROMIUM_PATH };
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  if (!root || !apt) {
    return { ok: false, reason: `${CHROMIUM_PATH} is missing and this process cannot install it (${root ? 'no apt-get' : 'not root'}); run \`apt-get install -y chromium\` as root` };
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const opts = { env, encoding: 'utf8' as const, timeout: 15 * 60_000, maxBuffer: 64 * 1024 * 1024 };
  process.stderr.write(`console e2e: installing Debian's chromium (apt-get install -y chromium)…\n`);
  let install = spawnSync('apt-get', ['install', '-y', 'chromium'], opts);
  if (install.status !== 0) {
    spawnSync('apt-get', ['update'], opts);
    install = spawnSync('apt-get', ['install', '-y', 'chromium'], opts);
  }
  if (install.status !== 0 || !fs.existsSync(CHROMIUM_PATH)) {
    return { ok: false, reason: `apt-get install chromium failed (exit ${install.status}): ${(install.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` };
  }
  return { ok: true, executablePath: CHROMIUM_PATH };
}
