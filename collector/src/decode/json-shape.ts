import { IngestError } from '../errors.js';

/**
 * The OTLP/JSON message shapes the collector reads, field by field. Checking them up
 * front means a payload with a wrong type anywhere (`"spans": "x"`) is a 400 with the
 * path of the bad field, and normalization only ever sees well-typed input. Unknown
 * fields are skipped without being walked, as the specification requires.
 */
type Scalar = 'string' | 'bytes' | 'int64' | 'uint' | 'enum' | 'bool' | 'double';
type Shape = 'request' | 'resourceSpans' | 'resource' | 'scopeSpans' | 'scope' | 'span' | 'event' | 'link' | 'status' | 'keyValue' | 'anyValue' | 'arrayValue' | 'kvlist';
type Field = Scalar | { one: Shape } | { list: Shape };

const attrs: Field = { list: 'keyValue' };
/**
 * Field tables without a prototype: a payload key such as `constructor` or `__proto__`
 * is an unknown field to skip, not a property inherited from Object.prototype.
 */
const bare = (fields: Record<string, Field>): Record<string, Field> => Object.assign(Object.create(null) as Record<string, Field>, fields);
const SHAPE_FIELDS: Record<Shape, Record<string, Field>> = {
  request: { resourceSpans: { list: 'resourceSpans' } },
  resourceSpans: { resource: { one: 'resource' }, scopeSpans: { list: 'scopeSpans' }, schemaUrl: 'string' },
  resource: { attributes: attrs, droppedAttributesCount: 'uint' },
  scopeSpans: { scope: { one: 'scope' }, spans: { list: 'span' }, schemaUrl: 'string' },
  scope: { name: 'string', version: 'string', attributes: attrs, droppedAttributesCount: 'uint' },
  span: {
    traceId: 'bytes',
    spanId: 'bytes',
    traceState: 'string',
    parentSpanId: 'bytes',
    flags: 'uint',
    name: 'string',
    kind: 'enum',
    startTimeUnixNano: 'int64',
    endTimeUnixNano: 'int64',
    attributes: attrs,
    droppedAttributesCount: 'uint',
    events: { list: 'event' },
    droppedEventsCount: 'uint',
    links: { list: 'link' },
    droppedLinksCount: 'uint',
    status: { one: 'status' },
  },
  event: { timeUnixNano: 'int64', name: 'string', attributes: attrs, droppedAttributesCount: 'uint' },
  link: { traceId: 'bytes', spanId: 'bytes', traceState: 'string', attributes: attrs, droppedAttributesCount: 'uint', flags: 'uint' },
  status: { message: 'string', code: 'enum' },
  keyValue: { key: 'string', value: { one: 'anyValue' } },
  anyValue: {
    stringValue: 'string',
    boolValue: 'bool',
    intValue: 'int64',
    doubleValue: 'double',
    arrayValue: { one: 'arrayValue' },
    kvlistValue: { one: 'kvlist' },
    bytesValue: 'bytes',
  },
  arrayValue: { values: { list: 'anyValue' } },
  kvlist: { values: { list: 'keyValue' } },
};
const SHAPES = Object.fromEntries(Object.entries(SHAPE_FIELDS).map(([shape, fields]) => [shape, bare(fields)])) as Record<Shape, Record<string, Field>>;

/** Normalization stops reading nested values past 32 levels; checking further is wasted work. */
const MAX_VALUE_DEPTH = 40;
const UINT = /^\d{1,10}$/;
const SNAKE = /_([a-z0-9])/g;

export interface ShapeOptions {
  /** rename snake_case keys to lowerCamelCase while walking */
  snakeCase: boolean;
}

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const typeName = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

/** Whether `obj[key]` holds a valid `kind`; a quoted uint32 is converted in place. */
function scalarOk(kind: Scalar, obj: Obj, key: string): boolean {
  const v = obj[key];
  switch (kind) {
    case 'string':
    case 'bytes':
      return typeof v === 'string';
    case 'bool':
      return typeof v === 'boolean';
    case 'int64':
    case 'enum':
    case 'double':
      return typeof v === 'string' || (typeof v === 'number' && !Number.isNaN(v));
    case 'uint':
      if (typeof v === 'number') return true;
      if (typeof v !== 'string' || !UINT.test(v)) return false;
      obj[key] = Number(v); // proto3 JSON allows quoted uint32
      return true;
  }
}

function renameSnakeKeys(obj: Obj): void {
  for (const key of Object.keys(obj)) {
    if (!key.includes('_')) continue;
    const camel = key.replace(SNAKE, (_, c: string) => c.toUpperCase());
    if (camel !== key && !(camel in obj)) obj[camel] = obj[key];
  }
}

class Walker {
  private readonly path: string[] = [];
  private valueDepth = 0;

  constructor(private readonly options: ShapeOptions) {}

  message(obj: Obj, shape: Shape): void {
    if (this.options.snakeCase) renameSnakeKeys(obj);
    const fields = SHAPES[shape];
    for (const key in obj) {
      const field = fields[key];
      const v = obj[key];
      if (field === undefined || v === null || v === undefined) continue;
      this.path.push(key);
      if (typeof field === 'string') {
        if (!scalarOk(field, obj, key)) this.fail(`a ${field === 'bytes' ? 'hex string' : field}`, v);
      } else if ('one' in field) {
        this.child(v, field.one);
      } else {
        if (!Array.isArray(v)) this.fail('an array', v);
        for (let i = 0; i < v.length; i++) {
          this.path.push(`[${i}]`);
          const item: unknown = v[i];
          if (item === null) this.fail('an object', item);
          this.child(item, field.list);
          this.path.pop();
        }
      }
      this.path.pop();
    }
  }

  private child(v: unknown, shape: Shape): void {
    if (!isObject(v)) return this.fail('an object', v);
    if (shape !== 'anyValue') return this.message(v, shape);
    if (this.valueDepth >= MAX_VALUE_DEPTH) return;
    this.valueDepth++;
    this.message(v, shape);
    this.valueDepth--;
  }

  private fail(expected: string, got: unknown): never {
    const where = this.path.join('.').replace(/\.\[/g, '[');
    throw new IngestError('invalid_json', `${where}: expected ${expected}, got ${typeName(got)}`);
  }
}

/** Checks (and, for snake_case payloads, renames in place) a parsed ExportTraceServiceRequest. */
export function checkTraceRequestShape(value: unknown, options: ShapeOptions): void {
  if (!isObject(value)) throw new IngestError('invalid_json', `the body must be a JSON object (ExportTraceServiceRequest), got ${typeName(value)}`);
  new Walker(options).message(value, 'request');
}
