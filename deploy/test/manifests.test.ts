import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type Schema } from 'ajv';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { configSchema, loadConfig, SPANS_QUEUE } from '@canopy/core';

// Every Kubernetes manifest under deploy/k8s, checked three ways:
//  1. built-in kinds against the Kubernetes OpenAPI schemas compiled into `kubernetes-models`
//     (types, required fields, enums, formats), and strictly: a field the API does not know
//     is an error, found by type-checking each object against the same package's types
//     (TypeScript's excess-property check; the OpenAPI schemas allow unknown fields);
//  2. operator resources (ClickHouseInstallation, ClickHouseKeeperInstallation, KEDA) by
//     their structure, with the pod, volume and service specs inside them checked as in 1;
//  3. against each other and against Canopy: selectors, ports, probes, settings.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const K8S = path.join(ROOT, 'deploy/k8s');
const ENTRYPOINT_COMMANDS = ['collector', 'workers', 'query-api', 'migrate', 'canopy'];

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}
interface Doc {
  where: string;
  object: K8sObject;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory() ? yamlFiles(full) : /\.ya?ml$/.test(name) ? [full] : [];
    })
    .sort();
}

function loadDocs(file: string): Doc[] {
  const where = path.relative(ROOT, file);
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc, i) => {
    const problems = [...doc.errors, ...doc.warnings].map((e) => e.message);
    if (problems.length) throw new Error(`${where} document ${i + 1}: ${problems.join('; ')}`);
    return { where: `${where}#${i + 1}`, object: doc.toJS() as K8sObject };
  });
}

const allDocs = yamlFiles(K8S).flatMap(loadDocs);
const kustomizations = allDocs.filter((d) => d.object.kind === 'Kustomization');
const objects = allDocs.filter((d) => d.object.kind !== 'Kustomization');
const optional = (d: Doc): boolean => d.where.startsWith('deploy/k8s/optional/');
const find = <T = K8sObject>(kind: string, name?: string): T[] =>
  objects.filter((d) => d.object.kind === kind && (name === undefined || d.object.metadata.name === name)).map((d) => d.object as T);
const one = <T = K8sObject>(kind: string, name: string): T => {
  const found = find<T>(kind, name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return found[0]!;
};

// ---- 1. built-in kinds --------------------------------------------------------------

const BUILT_IN_GROUPS = new Set(['', 'apps', 'batch', 'autoscaling', 'policy', 'networking.k8s.io', 'rbac.authorization.k8s.io', 'storage.k8s.io', 'scheduling.k8s.io']);
const groupOf = (apiVersion: string): [string, string] => (apiVersion.includes('/') ? (apiVersion.split('/') as [string, string]) : ['', apiVersion]);
const modelPath = (apiVersion: string, kind: string): string => {
  const [group, version] = groupOf(apiVersion);
  return `kubernetes-models/${group ? `${group}/` : ''}${version}/${kind}`;
};

interface Model {
  validate(): void;
}
async function validateBuiltIn(object: K8sObject): Promise<void> {
  const mod = (await import(/* @vite-ignore */ modelPath(object.apiVersion, object.kind))) as Record<string, new (data: unknown) => Model>;
  const Model = mod[object.kind];
  if (!Model) throw new Error(`kubernetes-models has no ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}

/** Type-checks objects against kubernetes-models' types; returns one message per unknown or mistyped field. */
function strictCheck(items: Array<{ where: string; object: K8sObject }>): string[] {
  const file = path.join(ROOT, 'deploy/test/__k8s_strict_check__.ts');
  const imports = items.map(({ object }, i) => `import type { I${object.kind} as T${i} } from '${modelPath(object.apiVersion, object.kind)}';`);
  let text = `${imports.join('\n')}\n`;
  const owners: Array<{ line: number; where: string }> = [];
  items.forEach(({ where, object }, i) => {
    owners.push({ line: text.split('\n').length - 1, where });
    text += `export const o${i} = ${JSON.stringify(object, null, 1)} satisfies T${i};\n`;
  });
  const options: ts.CompilerOptions = { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, skipLibCheck: true, types: [] };
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  const getSource = host.getSourceFile.bind(host);
  host.readFile = (f) => (path.resolve(f) === file ? text : read(f));
  host.fileExists = ((exists) => (f: string) => path.resolve(f) === file || exists(f))(host.fileExists.bind(host));
  host.getSourceFile = (f, lang, ...rest) => (path.resolve(f) === file ? ts.createSourceFile(f, text, lang, true) : getSource(f, lang, ...rest));
  const program = ts.createProgram([file], options, host);
  const source = program.getSourceFile(file)!;
  return ts.getPreEmitDiagnostics(program, source).map((d) => {
    const line = d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line;
    const owner = [...owners].reverse().find((o) => o.line <= line);
    return `${owner?.where ?? '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

// ---- 2. operator resources ----------------------------------------------------------

const named = (extra: Record<string, Schema> = {}): Schema => ({ type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 }, ...extra } });
const templates: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    podTemplates: { type: 'array', items: named({ spec: { type: 'object' }, metadata: { type: 'object' }, podDistribution: { type: 'array' } }) },
    volumeClaimTemplates: { type: 'array', items: named({ spec: { type: 'object' } }) },
    serviceTemplates: { type: 'array', items: named({ generateName: { type: 'string' }, spec: { type: 'object' } }) },
  },
};
const operatorResource = ({ apiVersion, kind, configuration, required }: { apiVersion: string; kind: string; configuration: Record<string, Schema>; required: string[] }): Schema => ({
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: apiVersion },
    kind: { const: kind },
    metadata: named(),
    spec: {
      type: 'object',
      additionalProperties: false,
      required: ['configuration'],
      properties: {
        defaults: { type: 'object', properties: { templates: { type: 'object', additionalProperties: { type: 'string' } } } },
        configuration: { type: 'object', additionalProperties: false, required, properties: configuration },
        templates,
      },
    },
  },
});
const clusters = (layout: Record<string, Schema>): Schema => ({
  type: 'array',
  minItems: 1,
  items: { type: 'object', required: ['name', 'layout'], additionalProperties: false, properties: { name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }, layout: { type: 'object', additionalProperties: false, properties: layout }, templates: { type: 'object' } } },
});
const count: Schema = { type: 'integer', minimum: 1 };
const CUSTOM_SCHEMAS: Record<string, Schema> = {
  'clickhouse.altinity.com/v1 ClickHouseInstallation': operatorResource({
    apiVersion: 'clickhouse.altinity.com/v1',
    kind: 'ClickHouseInstallation',
    configuration: {
      zookeeper: { type: 'object', required: ['nodes'], properties: { nodes: { type: 'array', minItems: 1, items: { type: 'object', required: ['host'], additionalProperties: false, properties: { host: { type: 'string' }, port: { type: 'integer' } } } } } },
      users: { type: 'object' },
      profiles: { type: 'object' },
      quotas: { type: 'object' },
      settings: { type: 'object' },
      files: { type: 'object' },
      clusters: clusters({ shardsCount: count, replicasCount: count }),
    },
    required: ['clusters'],
  }),
  'clickhouse-keeper.altinity.com/v1 ClickHouseKeeperInstallation': operatorResource({
    apiVersion: 'clickhouse-keeper.altinity.com/v1',
    kind: 'ClickHouseKeeperInstallation',
    configuration: { settings: { type: 'object' }, clusters: clusters({ replicasCount: { enum: [1, 3, 5] } }) },
    required: ['clusters'],
  }),
  'keda.sh/v1alpha1 ScaledObject': {
    type: 'object',
    required: ['spec'],
    properties: {
      spec: {
        type: 'object',
        required: ['scaleTargetRef', 'triggers'],
        properties: {
          scaleTargetRef: named(),
          minReplicaCount: { type: 'integer', minimum: 0 },
          maxReplicaCount: count,
          cooldownPeriod: { type: 'integer' },
          triggers: { type: 'array', minItems: 1, items: { type: 'object', required: ['type', 'metadata'], properties: { type: { type: 'string' }, metadata: { type: 'object', additionalProperties: { type: 'string' } } } } },
        },
      },
    },
  },
  'keda.sh/v1alpha1 TriggerAuthentication': {
    type: 'object',
    required: ['spec'],
    properties: { spec: { type: 'object', properties: { secretTargetRef: { type: 'array', items: { type: 'object', required: ['parameter', 'name', 'key'] } } } } },
  },
};
const ajv = new Ajv({ allErrors: true });

/** The built-in specs an operator resource carries, as objects the checks of part 1 apply to. */
function embeddedSpecs(object: K8sObject): K8sObject[] {
  const t = ((object.spec as { templates?: Record<string, Array<{ name: string; spec: unknown }>> }).templates ?? {}) as Record<string, Array<{ name: string; spec: unknown }>>;
  const wrap = (kind: string, list: Array<{ name: string; spec: unknown }> = []): K8sObject[] => list.map((x) => ({ apiVersion: 'v1', kind, metadata: { name: x.name }, spec: x.spec }));
  return [...wrap('Pod', t.podTemplates), ...wrap('PersistentVolumeClaim', t.volumeClaimTemplates), ...wrap('Service', t.serviceTemplates)];
}

// ---- the tests ----------------------------------------------------------------------

describe('Kubernetes manifests (deploy/k8s)', () => {
  it('parse, and every manifest file is listed by the kustomization of its folder', () => {
    expect(objects.length).toBeGreaterThan(10);
    for (const k of kustomizations) {
      const dir = path.dirname(path.join(ROOT, k.where.replace(/#\d+$/, '')));
      const listed = ((k.object as { resources?: string[] }).resources ?? []).map((r) => path.join(dir, r));
      for (const r of listed) expect(existsSync(r) && (statSync(r).isFile() || existsSync(path.join(r, 'kustomization.yaml'))), `${k.where} lists ${r}`).toBe(true);
      const siblings = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml').map((f) => path.join(dir, f));
      for (const s of siblings) expect(listed, `${path.relative(ROOT, s)} is not in ${k.where}`).toContain(s);
    }
  });

  it('validate against the Kubernetes schemas of kubernetes-models, custom resources against their structure', async () => {
    const failures: string[] = [];
    for (const { where, object } of objects) {
      const [group] = groupOf(object.apiVersion);
      const schema = CUSTOM_SCHEMAS[`${object.apiVersion} ${object.kind}`];
      try {
        if (BUILT_IN_GROUPS.has(group)) await validateBuiltIn(object);
        else if (schema) {
          if (!ajv.validate(schema, object)) failures.push(`${where}: ${ajv.errorsText()}`);
          for (const inner of embeddedSpecs(object)) await validateBuiltIn(inner);
        } else failures.push(`${where}: no schema for ${object.apiVersion} ${object.kind}`);
      } catch (err) {
        failures.push(`${where}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('use no field the Kubernetes API does not know (strict)', () => {
    const items = objects.flatMap((d) =>
      BUILT_IN_GROUPS.has(groupOf(d.object.apiVersion)[0]) ? [d] : embeddedSpecs(d.object).map((object) => ({ where: `${d.where} ${object.kind} template ${object.metadata.name}`, object })),
    );
    expect(strictCheck(items)).toEqual([]);
  }, 60_000);

  it('are checked by validators that do reject broken manifests', async () => {
    const deployment = structuredClone(one('Deployment', 'canopy-collector'));
    const pod = (deployment.spec as { template: { spec: { containers: Array<Record<string, unknown>> } } }).template.spec;
    pod.containers[0]!.readynessProbe = pod.containers[0]!.readinessProbe;
    expect(strictCheck([{ where: 'typo', object: deployment }]).join('\n')).toMatch(/readynessProbe/);
    (deployment.spec as Record<string, unknown>).replicas = 'two';
    await expect(validateBuiltIn(deployment)).rejects.toThrow(/replicas/);
    const chi = structuredClone(one('ClickHouseInstallation', 'canopy'));
    (chi.spec as { configuration: { clusters: Array<{ layout: Record<string, unknown> }> } }).configuration.clusters[0]!.layout.shards = 2;
    expect(ajv.validate(CUSTOM_SCHEMAS['clickhouse.altinity.com/v1 ClickHouseInstallation']!, chi)).toBe(false);
  });

  it('give the services only Canopy settings, which load together', () => {
    const data = one<{ data: Record<string, string> }>('ConfigMap', 'canopy-config').data;
    const secret = one<{ stringData: Record<string, string> }>('Secret', 'canopy-secrets').stringData;
    const known = Object.keys(configSchema.shape);
    for (const key of [...Object.keys(data), ...Object.keys(secret)]) expect(known, key).toContain(key);
    expect(Object.keys(data).filter((k) => k in secret)).toEqual([]);
    const config = loadConfig({ ...data, ...secret });
    expect(config.redis.queuePrefix).toMatch(/^\{[^}]+\}/);
    for (const url of [secret.CANOPY_DATABASE_URL, secret.CANOPY_REDIS_URL]) expect(url).toMatch(/CHANGE_ME@/);
  });

  it('run collector, workers and query API with requests, limits, the right command and NODE_OPTIONS', () => {
    const config = loadConfig(one<{ data: Record<string, string> }>('ConfigMap', 'canopy-config').data);
    const expected: Record<string, { probePort?: number; semiSpace: boolean }> = {
      'canopy-collector': { probePort: config.collector.port, semiSpace: true },
      'canopy-workers': { semiSpace: true },
      'canopy-query-api': { probePort: config.api.port, semiSpace: false },
    };
    const names = find('Deployment').map((d) => d.metadata.name);
    expect(names.sort()).toEqual(Object.keys(expected).sort());
    for (const [name, want] of Object.entries(expected)) {
      const spec = podSpec(one('Deployment', name));
      const [c] = spec.containers;
      expect(spec.containers, name).toHaveLength(1);
      expect(ENTRYPOINT_COMMANDS, name).toContain(c!.args?.[0]);
      expect(c!.resources?.requests, name).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
      expect(c!.resources?.limits, name).toMatchObject({ memory: expect.anything() });
      const nodeOptions = c!.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
      expect(nodeOptions.includes('--max-semi-space-size=32'), `${name} NODE_OPTIONS`).toBe(want.semiSpace);
      for (const ref of c!.envFrom ?? []) {
        if (ref.configMapRef) one('ConfigMap', ref.configMapRef.name);
        if (ref.secretRef) one('Secret', ref.secretRef.name);
      }
      if (want.probePort === undefined) {
        expect(c!.readinessProbe, `${name} listens on no port`).toBeUndefined();
        continue;
      }
      const port = (ref: number | string): number => (typeof ref === 'number' ? ref : c!.ports!.find((p) => p.name === ref)!.containerPort);
      expect(c!.readinessProbe?.httpGet?.path, name).toBe('/readyz');
      expect(c!.livenessProbe?.httpGet?.path, name).toBe('/healthz');
      expect(port(c!.readinessProbe!.httpGet!.port), name).toBe(want.probePort);
      expect(port(c!.livenessProbe!.httpGet!.port), name).toBe(want.probePort);
    }
    const job = one<{ spec: { template: { spec: PodSpec } } }>('Job', 'canopy-migrate');
    expect(job.spec.template.spec.containers[0]!.args).toEqual(['migrate']);
  });

  it('point Services, autoscalers and disruption budgets at Deployments that exist', () => {
    const deployments = find('Deployment');
    const podsMatching = (selector: Record<string, string>): string[] =>
      deployments.filter((d) => Object.entries(selector).every(([k, v]) => (d.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels[k] === v)).map((d) => d.metadata.name);
    for (const d of deployments) {
      const spec = d.spec as { selector: { matchLabels: Record<string, string> } };
      expect(podsMatching(spec.selector.matchLabels), `${d.metadata.name} selects its own pods only`).toEqual([d.metadata.name]);
    }
    for (const s of find<{ metadata: { name: string }; spec: { selector: Record<string, string>; ports: Array<{ targetPort: string | number }> } }>('Service')) {
      const [target] = podsMatching(s.spec.selector);
      expect(target, `Service ${s.metadata.name}`).toBeDefined();
      const ports = podSpec(one('Deployment', target!)).containers[0]!.ports ?? [];
      for (const p of s.spec.ports) expect(ports.some((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort), `${s.metadata.name} → ${p.targetPort}`).toBe(true);
    }
    const hpas = find<{ spec: { scaleTargetRef: { kind: string; name: string }; metrics: Array<{ resource?: { name: string } }> } }>('HorizontalPodAutoscaler');
    expect(hpas.map((h) => h.spec.scaleTargetRef.name).sort()).toEqual(['canopy-collector', 'canopy-workers']);
    for (const h of hpas) {
      one('Deployment', h.spec.scaleTargetRef.name);
      expect(h.spec.metrics.map((m) => m.resource?.name)).toContain('cpu');
    }
    const pdbs = find<{ metadata: { name: string }; spec: { selector: { matchLabels: Record<string, string> } } }>('PodDisruptionBudget');
    expect(pdbs.map((p) => podsMatching(p.spec.selector.matchLabels)).flat().sort()).toEqual(deployments.map((d) => d.metadata.name).sort());
  });

  it('describe the ClickHouse cluster the settings name: 2 shards, Keeper for replication, the user and password Canopy uses', () => {
    const settings = { ...one<{ data: Record<string, string> }>('ConfigMap', 'canopy-config').data, ...one<{ stringData: Record<string, string> }>('Secret', 'canopy-secrets').stringData };
    const config = loadConfig(settings);
    const chi = one<{ metadata: { name: string }; spec: Chi }>('ClickHouseInstallation', 'canopy');
    const keeper = one<{ metadata: { name: string }; spec: { configuration: { settings: Record<string, string>; clusters: Array<{ layout: { replicasCount: number } }> } } }>('ClickHouseKeeperInstallation', 'canopy-keeper');
    const [cluster] = chi.spec.configuration.clusters;
    expect(cluster!.name).toBe(config.clickhouse.cluster);
    expect(cluster!.layout.shardsCount).toBe(2);
    const service = chi.spec.templates.serviceTemplates.find((s) => s.name === chi.spec.defaults.templates.serviceTemplate)!;
    expect(new URL(config.clickhouse.url).hostname.split('.')[0]).toBe(service.generateName.replace('{chi}', chi.metadata.name));
    expect(service.spec.ports.map((p) => p.port)).toContain(Number(new URL(config.clickhouse.url).port));
    expect(chi.spec.configuration.zookeeper.nodes).toEqual([{ host: `keeper-${keeper.metadata.name}`, port: Number(keeper.spec.configuration.settings['keeper_server/tcp_port']) }]);
    expect(keeper.spec.configuration.clusters[0]!.layout.replicasCount).toBe(3);
    const user = config.clickhouse.user;
    const [secretName, secretKey] = String(chi.spec.configuration.users[`${user}/k8s_secret_password`]).split('/');
    expect(one<{ stringData: Record<string, string> }>('Secret', secretName!).stringData).toHaveProperty(secretKey!);
  });

  it('offer KEDA scaling on the wait list of the queue the workers consume', () => {
    const prefix = loadConfig(one<{ data: Record<string, string> }>('ConfigMap', 'canopy-config').data).redis.queuePrefix;
    const scaled = objects.filter(optional).find((d) => d.object.kind === 'ScaledObject')!.object as unknown as { spec: { scaleTargetRef: { name: string }; triggers: Array<{ type: string; metadata: Record<string, string> }> } };
    one('Deployment', scaled.spec.scaleTargetRef.name);
    expect(scaled.spec.triggers.find((t) => t.type === 'redis')!.metadata.listName).toBe(`${prefix}:${SPANS_QUEUE}:wait`);
  });

  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
  if (!kubectl) console.info('[manifests] kubectl not installed: skipping the `kubectl kustomize` render check');
  it.skipIf(!kubectl)('render with `kubectl kustomize` into the same objects, with the image name set', async () => {
    const out = spawnSync('kubectl', ['kustomize', K8S], { encoding: 'utf8' });
    expect(out.status, out.stderr).toBe(0);
    const rendered = parseAllDocuments(out.stdout).map((d) => d.toJS() as K8sObject);
    const id = (o: K8sObject): string => `${o.kind}/${o.metadata.name}`;
    expect(rendered.map(id).sort()).toEqual(objects.filter((d) => !optional(d)).map((d) => id(d.object)).sort());
    for (const o of rendered) {
      if (o.kind !== 'Namespace') expect(o.metadata.namespace, id(o)).toBe('canopy');
      if (BUILT_IN_GROUPS.has(groupOf(o.apiVersion)[0])) await validateBuiltIn(o);
    }
    const images = rendered.filter((o) => o.kind === 'Deployment' || o.kind === 'Job').map((o) => podSpec(o).containers[0]!.image);
    expect(new Set(images)).toEqual(new Set(['registry.example.com/canopy:0.1.0']));
  });
});

interface Container {
  image?: string;
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: { httpGet?: { path: string; port: number | string } };
  livenessProbe?: { httpGet?: { path: string; port: number | string } };
}
interface PodSpec {
  containers: Container[];
}
interface Chi {
  defaults: { templates: Record<string, string> };
  configuration: { zookeeper: { nodes: Array<{ host: string; port: number }> }; users: Record<string, unknown>; clusters: Array<{ name: string; layout: { shardsCount: number } }> };
  templates: { serviceTemplates: Array<{ name: string; generateName: string; spec: { ports: Array<{ port: number }> } }> };
}
const podSpec = (o: K8sObject): PodSpec => (o.spec as { template: { spec: PodSpec } }).template.spec;
