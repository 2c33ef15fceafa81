/**
 * /docs/api: the OpenAPI document as a page, grouped by tag, with a curl example per operation.
 * Rendered from the document itself, so the page says exactly what /api/openapi.json says. Plain
 * HTML: no script, no third-party bundle.
 */
import type {
  JsonSchema,
  OpenApiDocument,
  OpenApiOperation,
  OpenApiParameter,
} from "../routes/openapi.ts";

type Entry = { method: string; path: string; op: OpenApiOperation };

/** One line for a JSON Schema's type: `string (≤ 20 chars)`, `"open" | "closed"`, … */
export function typeText(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (schema.anyOf) return [...new Set(schema.anyOf.map(typeText))].join(" | ");
  const type = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type;
  if (type === "array") return `array of ${schema.items ? typeText(schema.items) : "any"}`;
  if (!type) return "any";
  const limits: string[] = [];
  if (typeof schema.format === "string") limits.push(schema.format);
  const range = (min: unknown, max: unknown, unit: string) => {
    const low = typeof min === "number" && min > 0 ? min : undefined;
    const high = typeof max === "number" ? max : undefined;
    if (low !== undefined && high !== undefined) limits.push(`${low}–${high}${unit}`);
    else if (low !== undefined) limits.push(`≥ ${low}${unit}`);
    else if (high !== undefined) limits.push(`≤ ${high}${unit}`);
  };
  range(schema.minLength, schema.maxLength, " chars");
  range(schema.minimum, schema.maximum, "");
  return limits.length ? `${type} (${limits.join(", ")})` : type;
}

type Field = { name: string; schema: JsonSchema; required: boolean };

/** An object's fields, nested objects' fields as `parent.child`. */
function fieldsOf(schema: JsonSchema, prefix = ""): Field[] {
  const out: Field[] = [];
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const full = prefix + name;
    out.push({ name: full, schema: property, required: schema.required?.includes(name) ?? false });
    if (property.type === "object" && property.properties) {
      out.push(...fieldsOf(property, `${full}.`));
    }
  }
  return out;
}

function notes(schema: JsonSchema): string {
  return [
    schema.description,
    schema.default !== undefined ? `Default ${JSON.stringify(schema.default)}.` : undefined,
  ].filter(Boolean).join(" ");
}

/** One line per field: name, type, whether required, and what it means; fits a phone as is. */
function FieldList(props: { fields: Field[]; label: string }) {
  return (
    <ul class="fields" aria-label={props.label}>
      {props.fields.map((f) => (
        <li>
          <code>{f.name}</code> <span class="muted">{typeText(f.schema)}</span>
          {f.required && <strong>required</strong>}
          {notes(f.schema) && (
            <>
              <br />
              {notes(f.schema)}
            </>
          )}
        </li>
      ))}
    </ul>
  );
}

function paramFields(params: OpenApiParameter[]): Field[] {
  return params.map((p) => ({
    name: p.name,
    schema: { ...p.schema, description: p.description ?? p.schema.description },
    required: p.required,
  }));
}

/** Shell-quoted for single quotes. */
const quoted = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/** The curl command for an operation, with the credentials it needs and an example body. */
export function curlExample(server: string, entry: Entry): string {
  const { op } = entry;
  const params = op.parameters ?? [];
  let path = entry.path;
  for (const p of params.filter((p) => p.in === "path")) {
    path = path.replace(`{${p.name}}`, p.example ?? `$${p.name.toUpperCase()}`);
  }
  const query = params.filter((p) => p.in === "query" && (p.example !== undefined || p.required))
    .map((p) => `${p.name}=${p.example ?? `$${p.name.toUpperCase()}`}`);
  const url = `${server}${path}${query.length ? `?${query.join("&")}` : ""}`;
  const flags = [
    ...(isStream(op) ? ["-N"] : []),
    ...(entry.method === "get" ? [] : ["-X", entry.method.toUpperCase()]),
  ];
  const lines = [["curl", ...flags, `"${url}"`].join(" ")];
  if (op.security.some((s) => "apiKey" in s)) {
    lines.push(`-H "Authorization: Bearer $ORION_API_KEY"`);
  } else if (op.security.some((s) => "session" in s)) {
    lines.push("-b cookies.txt");
  }
  const body = op.requestBody?.content["application/json"];
  if (body) {
    lines.push(`-H "Content-Type: application/json"`, `-d ${quoted(JSON.stringify(body.example))}`);
  }
  return lines.join(" \\\n  ");
}

function isStream(op: OpenApiOperation): boolean {
  const ok = op.responses["200"] as { content?: Record<string, unknown> };
  return ok?.content?.["text/event-stream"] !== undefined;
}

function authText(op: OpenApiOperation): string {
  const key = op.security.find((s) => "apiKey" in s);
  if (key) return `API key with scope ${key.apiKey[0]}, or a signed-in session.`;
  if (op["x-orion-auth"] === "admin") {
    return "A signed-in session of an ADMIN; API keys are refused.";
  }
  if (op.security.length) return "A signed-in session (cookie); API keys are refused.";
  return "None.";
}

function successes(op: OpenApiOperation): [string, string][] {
  return Object.entries(op.responses).filter(([, r]) => !("$ref" in (r as object))).map((
    [status, r],
  ) => [status, (r as { description: string }).description]);
}

function errors(op: OpenApiOperation): string[] {
  return Object.entries(op.responses).filter(([, r]) => "$ref" in (r as object)).map(([s]) => s);
}

function BodyFields(props: { schema: JsonSchema }) {
  const { schema } = props;
  if (schema.anyOf?.every((s) => s.type === "object")) {
    return (
      <>
        {schema.anyOf.map((alternative, i) => (
          <>
            <p>{i === 0 ? "Either:" : "Or:"}</p>
            <FieldList fields={fieldsOf(alternative)} label="Body fields" />
          </>
        ))}
      </>
    );
  }
  return <FieldList fields={fieldsOf(schema)} label="Body fields" />;
}

function Operation(props: { server: string; entry: Entry }) {
  const { op } = props.entry;
  const params = op.parameters ?? [];
  const body = op.requestBody?.content["application/json"];
  return (
    <article class="card" id={op.operationId} aria-labelledby={`${op.operationId}-h`}>
      <h3 id={`${op.operationId}-h`}>
        <span class="badge plain">{props.entry.method.toUpperCase()}</span>{" "}
        <code>{props.entry.path}</code>
      </h3>
      <p>{op.summary}</p>
      {op.description && <p>{op.description}</p>}
      <p class="muted">Auth: {authText(op)}</p>
      {params.length > 0 && (
        <>
          <h4>Parameters</h4>
          {(["path", "query", "header"] as const).map((where) => {
            const some = params.filter((p) => p.in === where);
            return some.length > 0 && (
              <FieldList fields={paramFields(some)} label={`${where} parameters`} />
            );
          })}
        </>
      )}
      {body && (
        <>
          <h4>Body (JSON)</h4>
          <BodyFields schema={body.schema} />
        </>
      )}
      <h4>Answers</h4>
      <ul>
        {successes(op).map(([status, description]) => (
          <li>
            <strong>{status}</strong> {description}
          </li>
        ))}
        <li>
          Errors: {errors(op).join(", ")}, each <code>{'{"error": {"code", "message", …}}'}</code>
        </li>
      </ul>
      <pre><code>{curlExample(props.server, props.entry)}</code></pre>
    </article>
  );
}

const tagId = (tag: string) => `tag-${tag.toLowerCase().replaceAll(/[^a-z0-9]+/g, "-")}`;

export function ApiDocsPage(props: { document: OpenApiDocument }) {
  const { document } = props;
  const server = document.servers[0].url;
  const entries: Entry[] = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ method, path, op }))
  );
  return (
    <div class="api-doc">
      <h1>API reference</h1>
      <p>
        Orion's JSON API, generated from the shapes the routes validate with. The machine-readable
        contract is <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI{" "}
        {document.openapi}). Amounts are decimal strings, instants ISO 8601 UTC.
      </p>
      <p>
        Scripts send an API key from <a href="/settings/keys">Settings › API keys</a> as{" "}
        <code>Authorization: Bearer $ORION_API_KEY</code>: scope <code>read</code> answers GET,{" "}
        <code>trade</code>{" "}
        every other method. The account, key and admin areas need a signed-in session (the examples
        keep its cookie in <code>cookies.txt</code>).
      </p>
      <pre><code>export ORION_API_KEY=orion_…</code></pre>
      <nav aria-label="API groups">
        <ul>
          {document.tags.map((t) => (
            <li>
              <a href={`#${tagId(t.name)}`}>{t.name}</a>
            </li>
          ))}
        </ul>
      </nav>
      {document.tags.map((t) => (
        <section aria-labelledby={tagId(t.name)}>
          <h2 id={tagId(t.name)}>{t.name}</h2>
          {entries.filter((e) => e.op.tags[0] === t.name).map((entry) => (
            <Operation server={server} entry={entry} />
          ))}
        </section>
      ))}
    </div>
  );
}
