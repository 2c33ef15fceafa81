/**
 * The OpenAPI 3.1 document of the JSON API, built from routes/api_contract.ts: the request shapes
 * are the routes' own zod schemas turned into JSON Schema (draft 2020-12, the dialect OpenAPI 3.1
 * uses) by zod itself, so the document cannot drift from what the routes accept.
 */
import { Hono } from "hono";
import { z } from "zod";
import { API_CONTRACT, type ApiOperation, type LooseParam } from "./api_contract.ts";
import type { AppDeps, AppEnv } from "./env.ts";
import { keyOpens } from "./middleware/api_key.ts";

export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  $ref?: string;
  [keyword: string]: unknown;
};

export type OpenApiParameter = {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
  description?: string;
  schema: JsonSchema;
  example?: string;
};

export type OpenApiOperation = {
  operationId: string;
  tags: string[];
  summary: string;
  description?: string;
  security: Record<string, string[]>[];
  "x-orion-auth": ApiOperation["auth"];
  parameters?: OpenApiParameter[];
  requestBody?: {
    required: true;
    content: { "application/json": { schema: JsonSchema; example: unknown } };
  };
  responses: Record<string, unknown>;
};

export type OpenApiDocument = {
  openapi: string;
  info: { title: string; version: string; description: string };
  servers: { url: string }[];
  tags: { name: string }[];
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    securitySchemes: Record<string, unknown>;
    schemas: Record<string, JsonSchema>;
    responses: Record<string, unknown>;
  };
};

/** The error statuses an operation may answer, each a shared response in `components`. */
const ERROR_RESPONSES: Record<number, [name: string, description: string]> = {
  400: ["BadRequest", "Unreadable: malformed JSON, a bad cursor"],
  401: ["Unauthenticated", "Not signed in, wrong credentials, or an invalid API key"],
  403: ["Forbidden", "Not allowed: a role, an unverified email, or an API key's scope"],
  404: ["NotFound", "Nothing there, or not yours"],
  409: ["Conflict", "A clash with what exists, or another writer won"],
  413: ["PayloadTooLarge", "The body is over BODY_LIMIT_BYTES"],
  422: ["Unprocessable", "Validation or a business rule; details.fields names each field"],
  429: ["RateLimited", "Rate limited; Retry-After says when to try again"],
  503: ["Unavailable", "The store is down or Orion is read-only; Retry-After says when"],
};

/** A zod shape as the JSON Schema of what a client sends (defaults make a field optional). */
export function inputSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io: "input",
    // Refinements and transforms have no JSON Schema; the shape before them is what is sent.
    unrepresentable: "any",
  }) as JsonSchema;
  return json;
}

/** `{name}` segments of an OpenAPI path. */
export function pathParamNames(path: string): string[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
}

function looseParameter(name: string, where: "path" | "query", param: LooseParam) {
  return {
    name,
    in: where,
    required: where === "path" || param.required === true,
    description: param.description,
    schema: param.enum ? { type: "string", enum: [...param.enum] } : { type: "string" },
    ...(param.example ? { example: param.example } : {}),
  } satisfies OpenApiParameter;
}

/** The parameters of one zod object shape, each property one parameter. */
function shapeParameters(
  schema: z.ZodType,
  where: "query" | "header",
  label: string,
  examples: Record<string, string> = {},
): OpenApiParameter[] {
  const json = inputSchema(schema);
  if (json.type !== "object" || !json.properties) {
    throw new Error(`${label}: ${where} shape must be a z.object`);
  }
  return Object.entries(json.properties).map(([name, property]) => ({
    name,
    in: where,
    required: json.required?.includes(name) ?? false,
    ...(property.description ? { description: property.description } : {}),
    schema: property,
    ...(examples[name] !== undefined ? { example: examples[name] } : {}),
  }));
}

/** Whether an API key may call the operation, and with which scope (the middleware's rule). */
export function keyScope(op: Pick<ApiOperation, "method" | "path">): "read" | "trade" | null {
  if (!keyOpens(op.path)) return null;
  return op.method === "get" ? "read" : "trade";
}

function security(op: ApiOperation): Record<string, string[]>[] {
  const scope = keyScope(op);
  if (op.auth === "public") return [];
  if (op.auth === "user" && scope) return [{ apiKey: [scope] }, { session: [] }];
  return [{ session: [] }];
}

function errorStatuses(op: ApiOperation, params: OpenApiParameter[]): number[] {
  const statuses = new Set(op.errors ?? []);
  if (op.auth !== "public") [401, 403].forEach((s) => statuses.add(s));
  if (op.body) [400, 413, 422].forEach((s) => statuses.add(s));
  if (op.query || op.headers) statuses.add(422);
  if (params.some((p) => p.in === "path" || p.name === "accountId")) statuses.add(404);
  // routes/middleware/api_rate_limit.ts never limits health probes.
  if (op.path !== "/api/health") statuses.add(429);
  statuses.add(503);
  return [...statuses].sort((a, b) => a - b);
}

function operationId(op: ApiOperation): string {
  const words = op.path.replace(/^\/api\//, "").split(/[^A-Za-z0-9]+/).filter(Boolean);
  return [op.method, ...words].map((w, i) => i === 0 ? w : w[0].toUpperCase() + w.slice(1))
    .join("");
}

function operation(op: ApiOperation): OpenApiOperation {
  const label = `${op.method.toUpperCase()} ${op.path}`;
  const parameters: OpenApiParameter[] = [
    ...pathParamNames(op.path).map((name) =>
      looseParameter(name, "path", op.pathParams?.[name] ?? { description: `The ${name}.` })
    ),
    ...(op.query ? shapeParameters(op.query, "query", label, op.queryExample) : []),
    ...Object.entries(op.looseQuery ?? {}).map(([name, p]) => looseParameter(name, "query", p)),
    ...(op.headers ? shapeParameters(op.headers, "header", label) : []),
  ];
  const responses: Record<string, unknown> = {};
  for (const [status, success] of Object.entries(op.responses)) {
    const { description, contentType } = typeof success === "string"
      ? { description: success, contentType: "application/json" }
      : success;
    responses[status] = status === "204" ? { description } : {
      description,
      content: {
        [contentType]: { schema: contentType === "application/json" ? {} : { type: "string" } },
      },
    };
  }
  for (const status of errorStatuses(op, parameters)) {
    responses[status] = { $ref: `#/components/responses/${ERROR_RESPONSES[status][0]}` };
  }
  return {
    operationId: operationId(op),
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    security: security(op),
    "x-orion-auth": op.auth,
    ...(parameters.length ? { parameters } : {}),
    ...(op.body
      ? {
        requestBody: {
          required: true,
          content: { "application/json": { schema: inputSchema(op.body), example: op.example } },
        },
      }
      : {}),
    responses,
  };
}

/** The document for a list of operations, served from `serverUrl`. */
export function openApiDocument(
  operations: readonly ApiOperation[],
  serverUrl: string,
  version: string,
): OpenApiDocument {
  const paths: OpenApiDocument["paths"] = {};
  for (const op of operations) {
    paths[op.path] ??= {};
    if (paths[op.path][op.method]) throw new Error(`${op.method} ${op.path} is described twice`);
    paths[op.path][op.method] = operation(op);
  }
  const errorResponses = Object.fromEntries(
    Object.values(ERROR_RESPONSES).map(([name, description]) => [name, {
      description,
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    }]),
  );
  return {
    openapi: "3.1.0",
    info: {
      title: "Orion Assets Broker API",
      version,
      description:
        "Paper trading over JSON: camelCase fields, amounts as decimal strings, instants in ISO 8601 UTC. " +
        "Scripts authenticate with an API key from /settings/keys as a Bearer token; a key with scope " +
        "read answers GET, one with trade also writes. The reference: /docs/api.",
    },
    servers: [{ url: serverUrl }],
    tags: [...new Set(operations.map((op) => op.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        apiKey: {
          type: "http",
          scheme: "bearer",
          description:
            "An API key (orion_…) made at /settings/keys. Scopes: read (GET), trade (every other method).",
        },
        session: {
          type: "apiKey",
          in: "cookie",
          name: "orion_session",
          description:
            "The session cookie POST /api/auth/sign-in sets (__Host-orion_session in production).",
        },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: {
                code: { type: "string", description: "snake_case, e.g. validation_failed" },
                message: { type: "string", description: "For a person to read" },
                details: {
                  type: "object",
                  description: "fields (a message per field), retryAfterS, …",
                },
              },
            },
          },
        },
      },
      responses: errorResponses,
    },
  };
}

/**
 * The origin the document names as its server: outside production the one the request was sent
 * to (a developer on another port), in production APP_URL, never a proxy's inner address.
 */
export function serverOrigin(deps: AppDeps, requestUrl: string): string {
  return deps.config.isProduction ? deps.config.appUrl : new URL(requestUrl).origin;
}

/** The document for the app's contract; the one for APP_URL is built once. */
export function appDocument(deps: AppDeps, origin: string): OpenApiDocument {
  // Only APP_URL's is kept: the Host header of any request must not grow the cache.
  if (origin !== deps.config.appUrl) return openApiDocument(API_CONTRACT, origin, deps.version);
  let document = documents.get(deps);
  if (!document) {
    document = openApiDocument(API_CONTRACT, origin, deps.version);
    documents.set(deps, document);
  }
  return document;
}
const documents = new WeakMap<AppDeps, OpenApiDocument>();

/** `GET /api/openapi.json`: the same for everyone, so caches may keep it a while. */
export function openApiRoutes(deps: AppDeps) {
  return new Hono<AppEnv>().get("/openapi.json", (c) => {
    const document = appDocument(deps, serverOrigin(deps, c.req.url));
    c.header("Cache-Control", "public, max-age=300");
    return c.json(document);
  });
}
