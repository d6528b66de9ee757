import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, createTestOrg, type TestEnv } from '@canopy/core/testing';
import { encodeRequest, postTraces, span, traceRequest } from './helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const mainJs = fileURLToPath(new URL('../dist/main.js', import.meta.url));

let env: TestEnv;
let org: Awaited<ReturnType<typeof createTestOrg>>;

beforeAll(async () => {
  // The process under test is the built entry point, exactly as `node collector/dist/main.js` runs it.
  await promisify(execFile)(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-b', 'collector'], { cwd: root });
  env = await createTestEnv();
  org = await createTestOrg(env, ['dev']);
});

afterAll(async () => {
  await env?.cleanup();
});

function run(extraEnv: Record<string, string>): { child: ChildProcessWithoutNullStreams; output: () => string } {
  const child = spawn(process.execPath, [mainJs], { env: { PATH: process.env.PATH ?? '', ...env.env, ...extraEnv } });
  let text = '';
  child.stdout.on('data', (b: Buffer) => (text += b.toString()));
  child.stderr.on('data', (b: Buffer) => (text += b.toString()));
  return { child, output: () => text };
}

async function exitCode(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

describe('node collector/dist/main.js', () => {
  it('exits 1 naming the bad variable when the configuration is invalid', async () => {
    const { child, output } = run({ CANOPY_COLLECTOR_PORT: 'not-a-port' });
    expect(await exitCode(child)).toBe(1);
    expect(output()).toMatch(/invalid configuration[\s\S]*CANOPY_COLLECTOR_PORT/);
  });

  it('serves exports on the configured port and exits 0 on SIGTERM', async () => {
    const { child, output } = run({ CANOPY_COLLECTOR_PORT: '0', CANOPY_COLLECTOR_HOST: '127.0.0.1', CANOPY_LOG_LEVEL: 'info' });
    try {
      let port = 0;
      const deadline = Date.now() + 15_000;
      while (!port && Date.now() < deadline && child.exitCode === null) {
        port = Number(/"port":(\d+)/.exec(output())?.[1] ?? 0);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(port, output()).toBeGreaterThan(0);
      const url = `http://127.0.0.1:${port}`;
      let ready = 0;
      for (let i = 0; i < 100 && ready !== 200; i++) {
        ready = (await fetch(`${url}/readyz`)).status;
        if (ready !== 200) await new Promise((r) => setTimeout(r, 50));
      }
      expect(ready).toBe(200);
      const res = await postTraces(url, encodeRequest(traceRequest([span(0)]), 'protobuf'), { key: org.workspaces.dev!.ingestKey.key });
      expect(res.status).toBe(200);

      child.kill('SIGTERM');
      expect(await exitCode(child)).toBe(0);
      expect(output()).toMatch(/"msg":"stopped"/);
      expect(output()).not.toContain(org.workspaces.dev!.ingestKey.key);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
