import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '@canopy/core/testing';

// A real ClickHouse cluster on this machine for the cluster test: one private ZooKeeper
// and one clickhouse-server per shard, each on free ports with its data in a temporary
// folder, configured from the templates in deploy/cluster/. Nothing in /etc is touched
// and the shared ClickHouse on 8123/9000 is left alone.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEMPLATES = path.join(ROOT, 'deploy', 'cluster');
const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';

export type Availability = { ok: true } | { ok: false; reason: string };

const which = (bin: string): string | null => {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
};

export function findClickHouseServer(): string | null {
  return which('clickhouse-server') ?? (existsSync('/usr/sbin/clickhouse-server') ? '/usr/sbin/clickhouse-server' : null);
}

/**
 * ZooKeeper from Debian's `zookeeper` package, installed with apt-get when missing and
 * this runs as root (its output shown). Otherwise says why it cannot run.
 */
export function ensureZooKeeper(log: (line: string) => void): Availability {
  if (!which('java')) return { ok: false, reason: 'no `java` on PATH (ZooKeeper needs a JRE): install default-jre-headless and zookeeper' };
  if (existsSync(ZOOKEEPER_JAR)) return { ok: true };
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !which('apt-get')) {
    return { ok: false, reason: `ZooKeeper is not installed (${ZOOKEEPER_JAR} is missing) and cannot be installed here (${isRoot ? 'no apt-get' : 'not root'}): run \`apt-get install -y zookeeper\`` };
  }
  log('cluster test: ZooKeeper is missing; installing Debian\'s zookeeper package with apt-get');
  const install = (): number | null =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'zookeeper'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status;
  let status = install();
  if (status !== 0) {
    log('cluster test: apt-get install failed; refreshing the package lists and trying once more');
    spawnSync('apt-get', ['update'], { stdio: 'inherit' });
    status = install();
  }
  if (status !== 0) return { ok: false, reason: `apt-get install zookeeper failed (exit ${status})` };
  if (!existsSync(ZOOKEEPER_JAR)) return { ok: false, reason: `apt-get installed zookeeper but ${ZOOKEEPER_JAR} is still missing` };
  return { ok: true };
}

const fill = (template: string, values: Record<string, string | number>): string =>
  template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    if (!(key in values)) throw new Error(`template placeholder {{${key}}} has no value`);
    return String(values[key]);
  });

const template = (name: string): string => readFileSync(path.join(TEMPLATES, name), 'utf8');

interface Daemon {
  name: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<void>;
}

function startDaemon(options: { name: string; bin: string; args: string[]; cwd: string }): Daemon {
  const child = spawn(options.bin, options.args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const collect = (chunk: Buffer): void => {
    out = (out + chunk.toString()).slice(-200_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { name: options.name, child, output: () => out, exited };
}

async function stopDaemon(d: Daemon): Promise<void> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return;
  d.child.kill('SIGCONT');
  d.child.kill('SIGTERM');
  const timer = setTimeout(() => d.child.kill('SIGKILL'), 10_000);
  await d.exited;
  clearTimeout(timer);
}

/** True once ZooKeeper serves clients (`srvr` names its mode; `ruok` answers earlier than that). */
function zooKeeperServes(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(1_000);
    socket.once('connect', () => socket.write('srvr'));
    socket.on('data', (d) => (reply += d.toString()));
    socket.once('close', () => resolve(/^Mode: standalone$/m.test(reply)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => socket.destroy());
  });
}

/** True once the server answers and holds a ZooKeeper session (it reads ZooKeeper's root). */
async function clickHouseReady(url: string): Promise<boolean> {
  try {
    const query = encodeURIComponent("SELECT count() FROM system.zookeeper WHERE path = '/'");
    const r = await fetch(`${url}/?query=${query}`, { signal: AbortSignal.timeout(2_000) });
    return r.ok && Number(await r.text()) > 0;
  } catch {
    return false;
  }
}

export interface ClusterNode {
  shard: number;
  httpUrl: string;
  tcpPort: number;
  dir: string;
  /** SIGSTOP: the server keeps its sockets but answers nothing (a hung shard) */
  pause(): void;
  resume(): void;
}

export interface LocalCluster {
  name: string;
  zookeeperPort: number;
  nodes: ClusterNode[];
  /** the servers' error logs and outputs, for a failing test's message */
  diagnostics(): string;
  /** Stops every process this cluster started and deletes its folder; safe to call twice. */
  stop(): Promise<void>;
}

/** ZooKeeper plus `shards` clickhouse-servers (one replica each) forming cluster `name`. */
export async function startLocalCluster(options: { name: string; shards: number; clickhouseServer: string }): Promise<LocalCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-cluster-'));
  const daemons: Daemon[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const d of [...daemons].reverse()) await stopDaemon(d);
      rmSync(dir, { recursive: true, force: true });
    })());
  const diagnostics = (): string =>
    daemons
      .map((d) => {
        const errLog = path.join(dir, d.name, 'log', 'clickhouse-server.err.log');
        const log = existsSync(errLog) ? readFileSync(errLog, 'utf8').slice(-4_000) : '';
        return `--- ${d.name}\n${d.output().slice(-2_000)}${log}`;
      })
      .join('\n');

  try {
    const zkDir = path.join(dir, 'zookeeper');
    mkdirSync(path.join(zkDir, 'data'), { recursive: true });
    const zookeeperPort = await freePort();
    writeFileSync(path.join(zkDir, 'zoo.cfg'), fill(template('zoo.cfg'), { data_dir: path.join(zkDir, 'data'), client_port: zookeeperPort }));
    daemons.push(
      startDaemon({
        name: 'zookeeper',
        bin: 'java',
        args: ['-Xmx256m', '-XX:+UseSerialGC', '-cp', ZOOKEEPER_JAR, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', 'zoo.cfg'],
        cwd: zkDir,
      }),
    );
    await waitFor(() => zooKeeperServes(zookeeperPort), { timeoutMs: 30_000, intervalMs: 200, what: `ZooKeeper on port ${zookeeperPort}` });

    const ports = [];
    for (let i = 0; i < options.shards; i++) ports.push({ http: await freePort(), tcp: await freePort(), interserver: await freePort() });
    const shards = ports
      .map((p) => fill(template('shard.xml'), { replicas: `                <replica><host>127.0.0.1</host><port>${p.tcp}</port></replica>` }).trimEnd())
      .join('\n');
    const nodes: ClusterNode[] = [];
    for (const [i, p] of ports.entries()) {
      const name = `shard${i + 1}`;
      const nodeDir = path.join(dir, name);
      mkdirSync(path.join(nodeDir, 'config.d'), { recursive: true });
      mkdirSync(path.join(nodeDir, 'log'), { recursive: true });
      for (const file of ['config.xml', 'users.xml']) copyFileSync(path.join(ROOT, 'deploy', 'clickhouse', file), path.join(nodeDir, file));
      writeFileSync(
        path.join(nodeDir, 'config.d', 'cluster.xml'),
        fill(template('clickhouse-node.xml'), {
          http_port: p.http,
          tcp_port: p.tcp,
          interserver_http_port: p.interserver,
          host: '127.0.0.1',
          cluster: options.name,
          shards,
          zookeeper_nodes: `        <node><host>127.0.0.1</host><port>${zookeeperPort}</port></node>`,
          shard: String(i + 1).padStart(2, '0'),
          replica: `${name}-replica1`,
        }),
      );
      const daemon = startDaemon({ name, bin: options.clickhouseServer, args: [`--config-file=${path.join(nodeDir, 'config.xml')}`], cwd: nodeDir });
      daemons.push(daemon);
      nodes.push({
        shard: i + 1,
        httpUrl: `http://127.0.0.1:${p.http}`,
        tcpPort: p.tcp,
        dir: nodeDir,
        pause: () => daemon.child.kill('SIGSTOP'),
        resume: () => daemon.child.kill('SIGCONT'),
      });
    }
    await Promise.all(nodes.map((n) => waitFor(() => clickHouseReady(n.httpUrl), { timeoutMs: 60_000, intervalMs: 200, what: `clickhouse-server at ${n.httpUrl} with a ZooKeeper session` })));
    return { name: options.name, zookeeperPort, nodes, diagnostics, stop };
  } catch (err) {
    const detail = diagnostics();
    await stop();
    throw new Error(`could not start the local ClickHouse cluster: ${(err as Error).message}\n${detail}`, { cause: err });
  }
}
