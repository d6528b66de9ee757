// `npm run bench [-- <name> ...]`: install what is missing, build, start the services
// the benchmarks need, run `node bench/dist/run.js <args>`, stop what it started.
import fs from 'node:fs';
import path from 'node:path';
import { ensureServices, ServiceError } from './services.mjs';
import { REPO_ROOT, StepFailed, build, exitOnError, installIfNeeded, run, step } from './steps.mjs';

async function main(args) {
  let interrupted = null;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => (interrupted ??= signal));
  await installIfNeeded();
  await build();
  const runner = path.join(REPO_ROOT, 'bench', 'dist', 'run.js');
  if (!fs.existsSync(runner)) throw new StepFailed('bench/dist/run.js is missing: the bench package has no build output (does bench/src/run.ts exist?)');
  if (interrupted) return 130;
  const services = await step('Checking ClickHouse, Postgres and Redis', () => ensureServices({ log: (line) => console.log(`    ${line}`) }));
  try {
    return await step(`Running benchmarks: node bench/dist/run.js ${args.join(' ')}`.trimEnd(), () => run(process.execPath, [runner, ...args]));
  } finally {
    if (services.started.length) await step(`Stopping ${services.started.join(', ')} (started by this run)`, () => services.stop());
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => exitOnError(err, ServiceError),
);
