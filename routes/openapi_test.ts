/**
 * The OpenAPI contract against the app itself: every route registered under /api is described and
 * every description names a registered route; the document is valid OpenAPI 3.1; what it says
 * about input and credentials is what the routes do, through real requests; /docs/api renders it.
 */
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { API_CONTRACT, type ApiOperation } from "./api_contract.ts";
import { keyScope, type OpenApiDocument, pathParamNames } from "./openapi.ts";
import { TEST_ORIGIN, testApi, testApp } from "./testing.ts";

type App = Awaited<ReturnType<typeof testApp>>;

/**
 * A Hono route path in OpenAPI form: `:id` and `:symbol{.+}` become `{id}` and `{symbol}`, and
 * a sub-app's `/` root loses its trailing slash (`/api/keys/` is served as `/api/keys`).
 */
export function openApiPath(honoPath: string): string {
  const path = honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}");
  return path.length > 1 ? path.replace(/\/$/, "") : path;
}

/**
 * The `METHOD /path` of every handler the app registers under /api. Hono records middleware
 * (`app.use`, a router's `.use`) as method `ALL`; those are not routes and are left out. So a
 * route under /api must be registered with a method (`.get`, `.post`, …), never with `.all`.
 */
function registeredApiRoutes(routes: readonly { method: string; path: string }[]): Set<string> {
  return new Set(
    routes.filter((r) => r.method !== "ALL" && (r.path === "/api" || r.path.startsWith("/api/")))
      .map((r) => `${r.method} ${openApiPath(r.path)}`),
  );
}

function documentedRoutes(document: OpenApiDocument): Set<string> {
  return new Set(
    Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`)
    ),
  );
}

/** What the app serves that the document does not say, and what it says that the app lacks. */
function contractGaps(routes: readonly { method: string; path: string }[], doc: OpenApiDocument) {
  const registered = registeredApiRoutes(routes);
  const documented = documentedRoutes(doc);
  return {
    undescribed: [...registered].filter((r) => !documented.has(r)).sort(),
    missing: [...documented].filter((r) => !registered.has(r)).sort(),
  };
}

async function fetchDocument(t: App): Promise<OpenApiDocument> {
  const res = await t.app.request(`${TEST_ORIGIN}/api/openapi.json`);
  assert.equal(res.status, 200);
  return await res.json();
}

/** A request as a script sends it: a key (or nothing), no Origin, no cookie. */
function scriptRequest(
  t: App,
  method: string,
  path: string,
  init: { key?: string; body?: unknown; cookie?: string } = {},
) {
  const headers: Record<string, string> = {};
  if (init.key) headers.Authorization = `Bearer ${init.key}`;
  if (init.cookie) headers.Cookie = init.cookie;
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  return t.app.request(`${TEST_ORIGIN}${path}`, {
    method,
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  }, { remoteAddr: { hostname: "198.51.100.30", port: 1, transport: "tcp" } });
}

/** The entry's path with each parameter filled in (its example, else a made-up id). */
function concretePath(op: ApiOperation, query = true): string {
  let path = op.path;
  for (const name of pathParamNames(op.path)) {
    path = path.replace(`{${name}}`, op.pathParams?.[name]?.example ?? "01NOSUCHTHING");
  }
  const params = new URLSearchParams(op.queryExample ?? {});
  for (const [name, p] of Object.entries(op.looseQuery ?? {})) {
    if (p.example !== undefined) params.set(name, p.example);
  }
  return query && params.size ? `${path}?${params}` : path;
}

/** A trader with an API key of each scope. */
async function keyedTrader(t: App, email: string) {
  const api = testApi(t);
  const { cookie } = await api.trader(email);
  const make = async (scopes: string[]) =>
    (await api.call("/api/keys", { cookie, body: { name: scopes.join("+"), scopes } }))
      .secret as string;
  return { cookie, readKey: await make(["read"]), tradeKey: await make(["read", "trade"]) };
}

Deno.test("[openapi] every /api route the app registers is described, and only those", async () => {
  await using t = await testApp();
  const document = await fetchDocument(t);
  const gaps = contractGaps(t.app.routes, document);
  assert.deepEqual(
    gaps.undescribed,
    [],
    `Routes with no entry in routes/api_contract.ts: ${gaps.undescribed.join(", ")}`,
  );
  assert.deepEqual(
    gaps.missing,
    [],
    `Entries in routes/api_contract.ts that no route serves: ${gaps.missing.join(", ")}`,
  );

  // The check sees a route added without an entry, and an entry whose route went away.
  const added = [...t.app.routes, { method: "POST", path: "/api/widgets/:id{.+}/spin" }];
  assert.deepEqual(contractGaps(added, document).undescribed, ["POST /api/widgets/{id}/spin"]);
  const removed = t.app.routes.filter((r) => !(r.method === "GET" && r.path === "/api/clock"));
  assert.deepEqual(contractGaps(removed, document).missing, ["GET /api/clock"]);
  // Middleware is not a route.
  assert.ok(t.app.routes.some((r) => r.method === "ALL" && r.path === "/api/orders/*"));
});

Deno.test("[openapi] the document is valid OpenAPI 3.1, served cacheable as JSON", async () => {
  await using t = await testApp();
  const res = await t.app.request(`${TEST_ORIGIN}/api/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type") ?? "", /^application\/json/);
  assert.equal(res.headers.get("Cache-Control"), "public, max-age=300");
  const document: OpenApiDocument = await res.json();

  const validator = new Validator();
  const result = await validator.validate(structuredClone(document));
  assert.deepEqual(result.errors ?? [], [], "the OpenAPI 3.1 schema accepts the document");
  assert.equal(result.valid, true);
  assert.match(document.openapi, /^3\.1\.\d+$/);
  assert.equal(document.servers[0].url, TEST_ORIGIN);

  // Every $ref points at something.
  const refs: string[] = [];
  (function walk(value: unknown) {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === "object") {
      for (const [key, inner] of Object.entries(value)) {
        if (key === "$ref" && typeof inner === "string") refs.push(inner);
        else walk(inner);
      }
    }
  })(document);
  assert.ok(refs.length > 50);
  for (const ref of new Set(refs)) {
    assert.ok(ref.startsWith("#/"), ref);
    let target: unknown = document;
    for (const part of ref.slice(2).split("/")) {
      target = (target as Record<string, unknown> | undefined)?.[part];
    }
    assert.ok(target !== undefined, `${ref} resolves`);
  }

  const operationIds = new Set<string>();
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const label = `${method.toUpperCase()} ${path}`;
      assert.ok(Object.keys(op.responses).length > 0, `${label} has responses`);
      assert.ok(
        Object.keys(op.responses).some((s) => s.startsWith("2")),
        `${label} has a success`,
      );
      assert.ok(!operationIds.has(op.operationId), `${label}: operationId ${op.operationId}`);
      operationIds.add(op.operationId);
      // Every {name} of the path is a required path parameter, and no other is declared.
      const declared = (op.parameters ?? []).filter((p) => p.in === "path");
      assert.deepEqual(
        declared.map((p) => p.name).sort(),
        pathParamNames(path).sort(),
        `${label}: path parameters`,
      );
      assert.ok(declared.every((p) => p.required), `${label}: path parameters are required`);
    }
  }
});

Deno.test("[openapi] examples and required fields agree with the routes' own zod shapes", () => {
  for (const op of API_CONTRACT) {
    const label = `${op.method.toUpperCase()} ${op.path}`;
    if (op.body) {
      assert.ok(op.example !== undefined, `${label} has an example body`);
      const parsed = op.body.safeParse(op.example);
      assert.ok(parsed.success, `${label}: its example passes: ${parsed.error?.message}`);
    } else {
      assert.equal(op.example, undefined, `${label}: an example without a body`);
    }
    if (op.queryExample) {
      assert.ok(op.query, `${label}: a query example without a query shape`);
      const parsed = op.query.safeParse(op.queryExample);
      assert.ok(parsed.success, `${label}: its query example passes: ${parsed.error?.message}`);
    }
    assert.deepEqual(
      Object.keys(op.pathParams ?? {}).filter((name) => !pathParamNames(op.path).includes(name)),
      [],
      `${label}: described path parameters are in the path`,
    );
  }
});

Deno.test("[openapi] each operation's credentials are what the routes ask for", async () => {
  await using t = await testApp();
  const { readKey, tradeKey } = await keyedTrader(t, "openapi-auth@example.com");
  for (const op of API_CONTRACT) {
    const label = `${op.method.toUpperCase()} ${op.path}`;
    const method = op.method.toUpperCase();
    const path = concretePath(op);
    if (op.auth === "public") {
      // The public reads answer anyone, with the document's own example parameters.
      if (op.method !== "get") continue;
      const res = await scriptRequest(t, method, path);
      assert.equal(res.status, 200, `${label} answers without credentials: ${await res.text()}`);
      continue;
    }
    const anonymous = await scriptRequest(t, method, path);
    assert.equal(anonymous.status, 401, `${label} needs credentials`);
    await anonymous.body?.cancel();

    const scope = keyScope(op);
    assert.equal(
      scope !== null,
      op.auth === "user",
      `${label}: auth "user" exactly where routes/middleware/api_key.ts opens the path to keys`,
    );
    if (scope === null) {
      const res = await scriptRequest(t, method, path, { key: tradeKey });
      assert.equal(res.status, 403, `${label} refuses keys`);
      assert.equal((await res.json()).error.code, "insufficient_scope");
    } else if (scope === "trade") {
      const res = await scriptRequest(t, method, path, { key: readKey, body: op.example });
      assert.equal(res.status, 403, `${label} needs the trade scope`);
      assert.equal((await res.json()).error.code, "insufficient_scope");
    } else {
      const res = await scriptRequest(t, method, path, { key: readKey });
      assert.notEqual(res.status, 401, label);
      assert.notEqual(res.status, 403, `${label} answers a read key`);
      await res.body?.cancel();
    }
  }
});

Deno.test("[openapi] the document's example bodies are accepted by the routes they describe", async () => {
  await using t = await testApp();
  const { tradeKey } = await keyedTrader(t, "openapi-examples@example.com");
  const document = await fetchDocument(t);
  const orders = document.paths["/api/orders"].post;
  const body = orders.requestBody!.content["application/json"];
  // The route's required fields, as the route reads them: symbol and side.
  assert.deepEqual(body.schema.required?.sort(), ["side", "symbol"]);
  for (const field of body.schema.required!) {
    const { [field]: _left, ...without } = body.example as Record<string, unknown>;
    const res = await scriptRequest(t, "POST", "/api/orders", { key: tradeKey, body: without });
    assert.equal(res.status, 422, `an order without ${field} is refused`);
    assert.ok(field in (await res.json()).error.details.fields);
  }
  // Nothing outside `required` is needed: the example with only those fields is an order too.
  const placed = await scriptRequest(t, "POST", "/api/orders", {
    key: tradeKey,
    body: body.example,
  });
  assert.equal(placed.status, 201, await placed.clone().text());
  assert.equal((await placed.json()).symbol, "AAPL");
  const minimal = Object.fromEntries(
    Object.entries(body.example as Record<string, unknown>).filter(([k]) =>
      ["symbol", "side", "qty"].includes(k)
    ),
  );
  const res = await scriptRequest(t, "POST", "/api/orders", { key: tradeKey, body: minimal });
  assert.equal(res.status, 201, `defaults fill type and timeInForce: ${await res.clone().text()}`);

  // The other creations a key may make, each with the document's example.
  for (const [path, status] of [["/api/watchlists", 201], ["/api/alerts", 201]] as const) {
    const example = document.paths[path].post.requestBody!.content["application/json"].example;
    const created = await scriptRequest(t, "POST", path, { key: tradeKey, body: example });
    assert.equal(created.status, status, `${path}: ${await created.text()}`);
  }
});

Deno.test("[openapi] /docs/api lists every operation with a curl example, no third-party script", async () => {
  await using t = await testApp();
  const document = await fetchDocument(t);
  const res = await t.app.request(`${TEST_ORIGIN}/docs/api`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type") ?? "", /^text\/html/);
  const html = await res.text();
  assert.match(html, /<title>[^<]*API reference/);
  for (const tag of document.tags) assert.ok(html.includes(`>${tag.name}</h2>`), tag.name);
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const op of Object.values(methods)) {
      assert.ok(html.includes(`id="${op.operationId}"`), `${path} is on the page`);
    }
  }
  const orders = html.slice(html.indexOf('id="postOrders"'));
  const curl = orders.slice(orders.indexOf("<pre><code>curl"), orders.indexOf("</code></pre>"));
  assert.ok(curl.includes(`-X POST &quot;${TEST_ORIGIN}/api/orders&quot;`), curl);
  assert.ok(curl.includes("-H &quot;Authorization: Bearer $ORION_API_KEY&quot;"), curl);
  assert.ok(curl.includes("-H &quot;Content-Type: application/json&quot;"), curl);
  assert.ok(curl.includes("-d &#39;{&quot;symbol&quot;:&quot;AAPL&quot;"), curl);
  // A session-only area says so instead of offering the key.
  const keys = html.slice(html.indexOf('id="postKeys"'));
  assert.ok(keys.slice(0, keys.indexOf("</article>")).includes("-b cookies.txt"));
  // Scripts only from our own origin (the layout's htmx), none from anywhere else.
  const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
  for (const script of scripts) assert.match(script, /src="\/static\//, script);
  assert.ok(!/https?:\/\/(?!localhost)[^"']*\.(js|css)/.test(html), "no third-party bundle");
});

Deno.test("[openapi] the API keys page and the document link the reference", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("openapi-link@example.com");
  const page = await (await api.request("/settings/keys", { cookie })).text();
  assert.ok(page.includes('href="/docs/api"'));
});
