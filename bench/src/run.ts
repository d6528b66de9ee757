#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfig } from '@canopy/core';
import { runIngestBench } from './ingest.js';
import { runQueueFormatBench } from './queue-format.js';

/**
 * `npm run bench -- [name…] [--spans N]`: runs the named benchmarks (all by default) and
 * prints one JSON line per benchmark with its figures and the ratios against the baseline
 * it measured in the same run.
 */
const BENCHES: Record<string, (args: { spans: number }) => Promise<Record<string, unknown>>> = {
  ingest: ({ spans }) => runIngestBench({ requests: Math.max(10, Math.round(spans / 500)), spansPerRequest: 500, concurrency: 16 }),
  'queue-format': ({ spans }) =>
    runQueueFormatBench({ redisUrl: loadConfig(process.env).redis.url, requests: Math.max(10, Math.round(spans / 2000)), spansPerRequest: 500 }),
  policy: async () => {
    const { runPolicyBench } = (await import('./policy.js')) as { runPolicyBench: () => Promise<Record<string, unknown>> };
    return runPolicyBench();
  },
  query: async () => { const q = await import('./query.js'); return q.runQueryBench({ spans: q.spansOption(process.argv.slice(2)) }); },
};

const { values, positionals } = parseArgs({ options: { spans: { type: 'string', default: '200000' } }, allowPositionals: true });
const names = positionals.length ? positionals : Object.keys(BENCHES);
const unknown = names.filter((n) => !BENCHES[n]);
if (unknown.length) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; available: ${Object.keys(BENCHES).join(', ')}\n`);
  process.exit(2);
}
for (const name of names) {
  const result = await BENCHES[name]!({ spans: Number(values.spans) });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
process.exit(0);
