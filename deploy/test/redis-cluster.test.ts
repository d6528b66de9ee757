import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Worker } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { createSpanQueue, loadConfig, SPANS_QUEUE, type SpanBatch } from '@canopy/core';
import { freePort, waitFor } from '@canopy/core/testing';

// What docs/scaling.md says about Redis, checked on redis-servers this file starts on free
// ports (the shared Redis on 6379 is never touched): BullMQ keys under a hash-tagged
// prefix map to one Redis Cluster slot, the queue works on a real cluster only with
// such a prefix, and the append-only file keeps accepted spans across a crash.

const REDIS_SERVER = spawnSync('redis-server', ['--version']).status === 0 ? 'redis-server' : null;

/** CRC16/XMODEM, the checksum Redis Cluster assigns slots with. */
function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The slot of a key: only the part inside the first non-empty {…} counts when there is one. */
function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return crc16(Buffer.from(key.slice(open + 1, close))) % 16384;
  }
  return crc16(Buffer.from(key)) % 16384;
}

interface RedisServer {
  port: number;
  dir: string;
  child: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

async function startRedis(options: { dir?: string; port?: number; args?: string[] } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'canopy-redis-'));
  const child = spawn(REDIS_SERVER!, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...(options.args ?? [])], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  await waitFor(async () => (await probe.connect().then(() => probe.ping(), () => null)) === 'PONG', { timeoutMs: 10_000, what: `redis-server on ${port}` });
  probe.disconnect();
  return {
    port,
    dir,
    child,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

function batch(id: string): SpanBatch {
  const prefix = JSON.stringify({ org_id: 'org_1', workspace_id: 'ws_1' }).slice(0, -1);
  return {
    v: 1,
    batchId: id,
    orgId: 'org_1',
    workspaceId: 'ws_1',
    keyId: 'key_1',
    receivedAtMs: Date.now(),
    spanCount: 1,
    bytes: 100,
    minTimestampSec: 1,
    maxTimestampSec: 1,
    groups: [{ prefix, spans: `,"span_id":"${id}"}` }],
  };
}

async function allKeys(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  return keys.sort();
}

/** Enqueues through core's span queue and lets a BullMQ worker take the job, so every key kind exists. */
async function enqueueAndProcess(connection: Redis | Cluster, prefix: string): Promise<SpanBatch[]> {
  const queue = createSpanQueue(connection, prefix);
  const seen: SpanBatch[] = [];
  const worker = new Worker<SpanBatch>(SPANS_QUEUE, async (job) => void seen.push(job.data), { connection, prefix, autorun: true });
  try {
    await queue.add(batch('b1'), { attempts: 3 });
    await queue.add(batch('b2'), { attempts: 3 });
    await waitFor(async () => seen.length === 2, { what: 'both jobs processed' });
    // a third job left waiting, so the wait list exists too
    await worker.close();
    await queue.add(batch('b3'), { attempts: 3 });
    return seen;
  } finally {
    await worker.close();
    await queue.close();
  }
}

describe('BullMQ keys under a hash-tagged queue prefix', () => {
  it('computes the slots Redis Cluster documents', () => {
    // The examples of the Redis Cluster specification.
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(keySlot('foo{}{bar}')).toBe(crc16(Buffer.from('foo{}{bar}')) % 16384);
    expect(keySlot('foo{{bar}}zap')).toBe(crc16(Buffer.from('{bar')) % 16384);
  });

  it('accepts a {hash-tag} prefix in CANOPY_QUEUE_PREFIX and refuses one with other punctuation', () => {
    expect(loadConfig({ CANOPY_QUEUE_PREFIX: '{canopy}' }).redis.queuePrefix).toBe('{canopy}');
    expect(loadConfig({ CANOPY_QUEUE_PREFIX: '{canopy-eu}:prod' }).redis.queuePrefix).toBe('{canopy-eu}:prod');
    expect(() => loadConfig({ CANOPY_QUEUE_PREFIX: 'canopy spans' })).toThrow(/CANOPY_QUEUE_PREFIX/);
  });

  describe.skipIf(!REDIS_SERVER)('on a single redis-server', () => {
    let server: RedisServer;
    let redis: Redis;
    beforeAll(async () => {
      server = await startRedis();
      redis = new Redis({ port: server.port, host: '127.0.0.1', maxRetriesPerRequest: null });
    });
    afterAll(async () => {
      redis?.disconnect();
      await server?.stop();
      if (server) rmSync(server.dir, { recursive: true, force: true });
    });

    it('puts every key the span queue and its worker create into the slot of the tag', async () => {
      const prefix = `{canopy_${randomBytes(3).toString('hex')}}`;
      await enqueueAndProcess(redis, prefix);
      const keys = await allKeys(redis, prefix);
      // meta, id, events, wait, marker, stalled-check, … : every kind BullMQ made
      expect(keys).toContain(`${prefix}:${SPANS_QUEUE}:wait`);
      expect(keys.length).toBeGreaterThanOrEqual(5);
      const slots = new Set(keys.map(keySlot));
      expect(slots, keys.join('\n')).toEqual(new Set([keySlot(prefix)]));
    });

    it('spreads the same keys over many slots without a tag (why the tag is needed)', async () => {
      const prefix = `canopy_${randomBytes(3).toString('hex')}`;
      await enqueueAndProcess(redis, prefix);
      const slots = new Set((await allKeys(redis, prefix)).map(keySlot));
      expect(slots.size).toBeGreaterThan(1);
    });
  });
});

describe.skipIf(!REDIS_SERVER)('the span queue on a real 3-node Redis Cluster', () => {
  const nodes: RedisServer[] = [];
  let cluster: Cluster;

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      // cluster-port: the bus port is chosen too, so port + 10000 need not be free
      const busPort = await freePort();
      nodes.push(await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-config-file', 'nodes.conf', '--appendonly', 'no'] }));
    }
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    expect(create.status, create.stdout + create.stderr).toBe(0);
    const probe = new Redis({ port: nodes[0]!.port, host: '127.0.0.1' });
    await waitFor(async () => (await probe.cluster('INFO')).includes('cluster_state:ok'), { timeoutMs: 20_000, what: 'cluster_state:ok' });
    probe.disconnect();
    cluster = new Cluster(
      nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
      { redisOptions: { maxRetriesPerRequest: null } },
    );
  }, 60_000);

  afterAll(async () => {
    cluster?.disconnect();
    for (const n of nodes) {
      await n.stop();
      rmSync(n.dir, { recursive: true, force: true });
    }
  });

  it('enqueues and delivers span batches under a {canopy} prefix, every key in the slot Redis reports', async () => {
    const prefix = `{canopy_${randomBytes(3).toString('hex')}}`;
    const delivered = await enqueueAndProcess(cluster, prefix);
    expect(delivered.map((b) => b.batchId).sort()).toEqual(['b1', 'b2']);
    expect(delivered[0]).toMatchObject({ v: 1, orgId: 'org_1', spanCount: 1 });
    const owner = cluster.nodes('master')[0]!;
    const slot = Number(await owner.cluster('KEYSLOT', prefix));
    expect(slot).toBe(keySlot(prefix));
    // All the queue's keys live on the one node that owns the slot.
    const keys = (await Promise.all(cluster.nodes('master').map((n) => allKeys(n, prefix)))).flat();
    expect(keys.length).toBeGreaterThanOrEqual(5);
    for (const key of keys) expect(Number(await owner.cluster('KEYSLOT', key))).toBe(slot);
  });

  it('fails to enqueue with CROSSSLOT under a prefix without a hash tag', async () => {
    const queue = createSpanQueue(cluster, `canopy_${randomBytes(3).toString('hex')}`);
    try {
      await expect(queue.add(batch('x1'), { attempts: 1 })).rejects.toThrow(/CROSSSLOT/);
    } finally {
      await queue.close();
    }
  });
});

describe.skipIf(!REDIS_SERVER)('Redis durability settings', () => {
  const servers: RedisServer[] = [];
  afterAll(async () => {
    for (const s of servers) {
      await s.stop('SIGKILL');
      rmSync(s.dir, { recursive: true, force: true });
    }
  });

  /** Enqueues one batch, kills Redis without warning (a host crash), restarts it on the same files, and counts the queue. */
  async function depthAfterCrash(args: string[]): Promise<number> {
    const first = await startRedis({ args: [...args, '--maxmemory-policy', 'noeviction'] });
    servers.push(first);
    const redis = new Redis({ port: first.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    const queue = createSpanQueue(redis, '{canopy}');
    await queue.add(batch(`crash-${randomBytes(3).toString('hex')}`), { attempts: 3 });
    await queue.close();
    redis.disconnect();
    await first.stop('SIGKILL');

    const second = await startRedis({ dir: first.dir, port: first.port, args });
    servers.push(second);
    const again = new Redis({ port: second.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    const reopened = createSpanQueue(again, '{canopy}');
    try {
      return await reopened.depth();
    } finally {
      await reopened.close();
      again.disconnect();
    }
  }

  it('keeps an acknowledged batch across a crash with appendonly yes and appendfsync always', async () => {
    expect(await depthAfterCrash(['--appendonly', 'yes', '--appendfsync', 'always'])).toBe(1);
  });

  it('loses it without persistence (the test can fail)', async () => {
    expect(await depthAfterCrash(['--appendonly', 'no'])).toBe(0);
  });
});
