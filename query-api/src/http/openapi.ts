import { z } from 'zod';
import type { Route } from './route.js';

type JsonSchema = Record<string, unknown>;

export interface OpenApiOptions {
  /** where the routes are mounted, e.g. /api/v1 */
  basePath: string;
  title: string;
  version: string;
}

/** A zod schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect): the request side or the response side. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12' }) as JsonSchema;
  return rest;
}

const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string', description: 'bounded error code, e.g. invalid, unauthorized, forbidden, not_found, conflict, last_owner' },
        message: { type: 'string' },
        field: { type: 'string', description: 'the input field at fault, when there is one' },
      },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
};

const errorResponse = (description: string): JsonSchema => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

const openApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const pathParamNames = (path: string): string[] => [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);

/** A field that accepts `undefined` (optional or defaulted) is not required. */
const isRequired = (schema: z.ZodType): boolean => !schema.safeParse(undefined).success;

function parameters(route: Route): JsonSchema[] {
  const params = route.params instanceof z.ZodObject ? (route.params.shape as Record<string, z.ZodType>) : {};
  const list: JsonSchema[] = pathParamNames(route.path).map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: params[name] ? jsonSchema(params[name], 'input') : { type: 'string' },
  }));
  if (route.query instanceof z.ZodObject) {
    for (const [name, schema] of Object.entries(route.query.shape as Record<string, z.ZodType>)) {
      const described = jsonSchema(schema, 'input');
      list.push({
        name,
        in: 'query',
        required: isRequired(schema),
        schema: described,
        ...(typeof described.description === 'string' ? { description: described.description } : {}),
      });
    }
  }
  return list;
}

function responses(route: Route): JsonSchema {
  const content: JsonSchema = {};
  if (route.response) content['application/json'] = { schema: jsonSchema(route.response, 'output') };
  for (const type of route.alsoProduces) content[type] = { schema: { type: 'string' } };
  const out: JsonSchema = {
    [String(route.status)]: { description: route.status === 204 ? 'done' : 'success', ...(Object.keys(content).length ? { content } : {}) },
  };
  if (route.params || route.query || route.body) out['400'] = errorResponse('invalid input; `field` names it');
  out['401'] = errorResponse('missing, unknown, revoked or expired token');
  if (route.action !== null || route.principal === 'user') out['403'] = errorResponse('the token may not do this');
  if (route.path.includes(':')) out['404'] = errorResponse('no such resource, or one the caller has no part in');
  out.default = errorResponse('error');
  return out;
}

function operation(route: Route): JsonSchema {
  const access = route.action === null ? (route.principal === 'user' ? 'any user (personal access token)' : 'any authenticated caller') : `\`${route.action}\``;
  return {
    summary: route.summary,
    description: [route.description, `Requires: ${access}.`].filter(Boolean).join('\n\n'),
    tags: [...route.tags],
    parameters: parameters(route),
    ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } } } : {}),
    responses: responses(route),
    'x-canopy-action': route.action,
  };
}

/** The OpenAPI 3.1 document of `routes`. */
export function buildOpenApiDocument(routes: readonly Route[], options: OpenApiOptions): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const path = `${options.basePath}${openApiPath(route.path)}`;
    const item = (paths[path] ??= {});
    if (item[route.method]) throw new Error(`${route.method.toUpperCase()} ${path} is documented twice`);
    item[route.method] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: { title: options.title, version: options.version },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a personal access token (cnp_pat_…) or an API key (cnp_api_…)' } },
      schemas: { Error: ERROR_SCHEMA },
    },
  };
}
