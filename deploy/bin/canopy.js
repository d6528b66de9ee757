#!/usr/bin/env node
// The `canopy` bin. It lives outside dist/ so that `npm install` links it on a fresh
// clone, before the first build has produced dist/cli.js.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(`canopy is not built yet (${fileURLToPath(cli)} is missing): run \`npm run build\` or \`npm start\` first.\n`);
  process.exit(1);
}
await import(cli.href);
