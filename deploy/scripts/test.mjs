// `npm test [-- <vitest args>]`: install what is missing, build, start the services the
// tests need, lint, run vitest, stop what it started. Exits with the first failure's code.
import { ensureServices, ServiceError } from './services.mjs';
import { StepFailed, bold, build, dim, elapsed, exitOnError, installIfNeeded, red, run, step } from './steps.mjs';

async function main(vitestArgs) {
  const startedAt = Date.now();
  let interrupted = null;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => (interrupted ??= signal));

  await installIfNeeded();
  await build();
  if (interrupted) return 130;
  const services = await step('Checking ClickHouse, Postgres and Redis', () => ensureServices({ log: (line) => console.log(`    ${line}`) }));
  const results = [];
  try {
    for (const [name, cmd, args] of [
      ['lint', 'npx', ['eslint', '.']],
      ['tests', 'npx', ['vitest', 'run', ...vitestArgs]],
    ]) {
      if (interrupted) break;
      const began = Date.now();
      const code = await step(`Running ${name}: ${cmd} ${args.join(' ')}`, () => run(cmd, args));
      results.push({ name, code, took: elapsed(began) });
    }
  } finally {
    if (services.started.length) {
      await step(`Stopping ${services.started.join(', ')} (started by this run)`, () => services.stop());
    }
  }
  for (const r of results) console.log(`${r.code === 0 ? 'ok  ' : red('FAIL')} ${r.name} (${r.took}${r.code === 0 ? '' : `, exit ${r.code}`})`);
  const failed = results.find((r) => r.code !== 0);
  console.log(failed ? red(bold(`npm test failed after ${elapsed(startedAt)}`)) : bold(`npm test passed in ${elapsed(startedAt)}`));
  if (interrupted) return 130;
  return failed ? failed.code : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof StepFailed || err instanceof ServiceError) console.error(dim(`npm test stopped before the tests ran`));
    exitOnError(err, ServiceError);
  },
);
