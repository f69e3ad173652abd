// The gateway's routes, defined once: each definition mounts its Hono handlers and
// is the source of its part of the OpenAPI 3.1 document served at /openapi.json
// (schemas through zod's own z.toJSONSchema). Routes a mounted route group serves
// (POST /v1/plan) are described here without a handler, so the document is complete.
import type { Handler, Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';

export type Method = 'get' | 'post' | 'put' | 'delete';

type Content = Record<string, z.ZodType>;

export interface ResponseSpec {
  description: string;
  content?: Content;
  headers?: Record<string, { description: string; schema: z.ZodType }>;
}

export interface RouteSpec {
  method: Method;
  /** OpenAPI path; a `{name}` segment is a path parameter with its pattern from `request.params`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** Callable without a bearer token. */
  public?: boolean;
  request?: {
    body?: { description?: string; content: Content };
    params?: z.ZodObject;
    query?: z.ZodObject;
    headers?: z.ZodObject;
  };
  /** 401 need not be listed: every route that is not public has it. */
  responses: Record<number, ResponseSpec>;
}

export const errorSchema = z
  .object({
    error: z.string().describe('a stable code, e.g. invalid_qsf, path_outside_workspace, scale_timeout'),
    message: z.string().describe('what went wrong, for a person'),
    errorMessage: z.string().optional().describe("on Drill's routes (/query.json, /status..., /, the login): the message again, where Drill's clients read it"),
  })
  .describe('Every error the gateway itself answers');

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 502 | 503 | 504;

const ERRORS: Record<ErrorStatus, string> = {
  400: 'bad input: invalid JSON or UTF-8, empty SQL, a wrong field, a bad QSF, an unknown schema',
  401: 'no or wrong token: Bearer, HTTP Basic with the token as the password, or a session of Drill\'s form login (only when tokens are configured)',
  403: 'refused: a path outside its workspace, a Drill admin endpoint, a query that is not SQL, a Drill session option Dromedar does not pass on (forbidden_option)',
  404: 'no such route (or no such query)',
  409: 'the query already ended (its final state in the message), or was cancelled while the client waited',
  413: 'the body or the SQL is over its limit',
  415: 'a content type the route does not take',
  502: 'Drill could not be reached, failed before answering, or answered a read with a server error',
  503: 'the wait queue for Drillbits is full, or the gateway is shutting down (see Retry-After)',
  504: 'the Drillbits the query needs did not come ONLINE in time (pool.startTimeoutMs)',
};

const HEADERS: Partial<Record<ErrorStatus, ResponseSpec['headers']>> = {
  401: { 'WWW-Authenticate': { description: 'Bearer realm="dromedar"', schema: z.string() } },
  503: { 'Retry-After': { description: 'seconds to wait before trying again', schema: z.string() } },
};

/** The documented JSON error responses for these statuses. */
export function errors(...statuses: ErrorStatus[]): Record<number, ResponseSpec> {
  return Object.fromEntries(
    statuses.map((status) => [status, { description: ERRORS[status], content: { 'application/json': errorSchema }, ...(HEADERS[status] && { headers: HEADERS[status] }) }]),
  );
}

export interface DocumentInfo {
  title: string;
  version: string;
  description: string;
  /** Whether bearer tokens are required (then every route but the public ones says so). */
  auth: boolean;
}

type Json = Record<string, unknown>;

export class ApiRoutes {
  private readonly specs: RouteSpec[] = [];

  constructor(private readonly app: Hono) {}

  /** Serves the route with `handlers` and documents it. */
  add(spec: RouteSpec, ...handlers: (Handler | MiddlewareHandler)[]): void {
    this.describe(spec);
    this.app.on(spec.method.toUpperCase(), honoPath(spec), ...(handlers as [Handler]));
  }

  /** Documents a route that a mounted route group serves. */
  describe(spec: RouteSpec): void {
    if (this.specs.some((s) => s.method === spec.method && s.path === spec.path)) throw new Error(`route ${spec.method} ${spec.path} defined twice`);
    this.specs.push(spec);
  }

  get routes(): readonly RouteSpec[] {
    return this.specs;
  }

  /** The methods defined at a request path (for 405 and Allow); [] when the path is unknown. */
  methodsAt(path: string): string[] {
    const methods = this.specs.filter((s) => pathRegex(s).test(path)).map((s) => s.method.toUpperCase());
    if (methods.includes('GET')) methods.push('HEAD');
    return methods;
  }

  document(info: DocumentInfo): Json {
    const paths: Record<string, Json> = {};
    for (const spec of this.specs) (paths[spec.path] ??= {})[spec.method] = operation(spec, info.auth);
    return {
      openapi: '3.1.0',
      info: { title: info.title, version: info.version, description: info.description },
      ...(info.auth && { security: [{ bearer: [] }] }),
      paths,
      components: {
        schemas: { Error: jsonSchema(errorSchema, 'output') },
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a token from server.auth.tokens / DROMEDAR_TOKENS' } },
      },
    };
  }
}

function operation(spec: RouteSpec, auth: boolean): Json {
  const responses: Record<number, ResponseSpec> = { ...spec.responses, ...(!spec.public && auth && errors(401)) };
  const parameters = [
    ...parametersOf(spec.request?.params, 'path'),
    ...parametersOf(spec.request?.query, 'query'),
    ...parametersOf(spec.request?.headers, 'header'),
  ];
  return {
    operationId: operationId(spec),
    summary: spec.summary,
    ...(spec.description && { description: spec.description }),
    tags: [spec.tag],
    ...(spec.public && { security: [] }),
    ...(parameters.length > 0 && { parameters }),
    ...(spec.request?.body && {
      requestBody: { required: true, ...(spec.request.body.description && { description: spec.request.body.description }), content: contentOf(spec.request.body.content, 'input') },
    }),
    responses: Object.fromEntries(Object.entries(responses).map(([status, r]) => [status, responseOf(r)])),
  };
}

function responseOf(r: ResponseSpec): Json {
  return {
    description: r.description,
    ...(r.headers && {
      headers: Object.fromEntries(Object.entries(r.headers).map(([name, h]) => [name, { description: h.description, schema: jsonSchema(h.schema, 'output') }])),
    }),
    ...(r.content && { content: contentOf(r.content, 'output') }),
  };
}

function contentOf(content: Content, io: 'input' | 'output'): Json {
  return Object.fromEntries(Object.entries(content).map(([type, schema]) => [type, { schema: schema === errorSchema ? { $ref: '#/components/schemas/Error' } : jsonSchema(schema, io) }]));
}

function parametersOf(object: z.ZodObject | undefined, where: 'path' | 'query' | 'header'): Json[] {
  return Object.entries(object?.shape ?? {}).map(([name, schema]) => {
    const { description, ...rest } = jsonSchema(schema as z.ZodType, 'input');
    const required = where === 'path' || !(schema as z.ZodType).safeParse(undefined).success;
    return { name, in: where, required, ...(description !== undefined && { description }), schema: rest };
  });
}

// Request schemas as the client may send them (defaults make fields optional, extra
// fields are ignored); response schemas as the gateway sends them.
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
  return rest;
}

function operationId(spec: RouteSpec): string {
  const words = spec.path.replace(/[{}]/g, '').split(/[^A-Za-z0-9]+/).filter(Boolean);
  return spec.method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

// `{name}` segments become Hono's `:name{pattern}`; anything else in a segment is literal.
function honoPath(spec: RouteSpec): string {
  return spec.path.replace(/\{(\w+)\}/g, (_, name: string) => `:${name}{${paramPattern(spec, name)}}`);
}

function pathRegex(spec: RouteSpec): RegExp {
  const parts = spec.path.split(/(\{\w+\})/).map((part) => {
    const name = /^\{(\w+)\}$/.exec(part)?.[1];
    return name ? `(?:${paramPattern(spec, name)})` : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${parts.join('')}$`);
}

function paramPattern(spec: RouteSpec, name: string): string {
  const schema = spec.request?.params?.shape[name] as z.ZodType | undefined;
  const pattern = schema && (jsonSchema(schema, 'input').pattern as string | undefined);
  if (!pattern) throw new Error(`path parameter ${name} of ${spec.path} needs a z.string().regex(...) in request.params`);
  return pattern.replace(/^\^/, '').replace(/\$$/, '');
}
