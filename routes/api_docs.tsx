/** /docs/api: the API reference page, rendered on the server from the OpenAPI document. */
import { Hono } from "hono";
import { ApiDocsPage } from "../views/api_docs.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { appDocument, serverOrigin } from "./openapi.ts";

export function apiDocsRoutes(deps: AppDeps) {
  return new Hono<AppEnv>().get("/", (c) => {
    const document = appDocument(deps, serverOrigin(deps, c.req.url));
    c.set("extraStyles", true);
    // A page to read: no htmx, no time zone script (about 14 KB less on a first visit).
    c.set("scriptless", true);
    return c.render(<ApiDocsPage document={document} />, { title: "API reference" });
  });
}
