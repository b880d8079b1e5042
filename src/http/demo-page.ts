import { readFile } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Plugin } from "graphql-yoga";

// The demo chat page (client/demo, built by Vite into dist/demo on npm install)
// at `GET /`, its hashed assets under /assets/. Files are read per request, so a
// rebuild (`npm run build:demo`) shows without a restart.
export const DEFAULT_DEMO_DIR = fileURLToPath(new URL("../../dist/demo/", import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
};

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

// The page talks to /graphql on its own origin only.
const CSP =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Chat gateway</title>
<p>The demo page is not built: run <code>npm run build:demo</code> (npm install runs it).</p>
<p>GraphiQL is at <a href="/graphql">/graphql</a>.</p>`;

export interface DemoPageOptions {
  /** Where the built page is (default dist/demo). */
  dir?: string;
  /** Tells the page to send persisted document hashes only. */
  persistedOperationsOnly?: boolean;
  /** MAX_TEXT_LENGTH, which the page counts a message against. */
  maxTextLength?: number;
}

export function useDemoPage({
  dir = DEFAULT_DEMO_DIR,
  persistedOperationsOnly = false,
  maxTextLength = 2000,
}: DemoPageOptions = {}): Plugin {
  const root = resolve(dir);
  const assets = resolve(root, "assets") + sep;
  // The page's settings, written into its meta tags of these names (client/demo/page-settings.ts reads them).
  const pageSettings = { "persisted-operations": persistedOperationsOnly, "max-text-length": maxTextLength };

  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (request.method !== "GET" && request.method !== "HEAD") return;
      const { pathname } = url;
      if (pathname === "/" || pathname === "/index.html") {
        let html: string;
        try {
          html = await readFile(resolve(root, "index.html"), "utf8");
        } catch {
          endResponse(
            new fetchAPI.Response(NOT_BUILT, { status: 404, headers: { "content-type": "text/html; charset=utf-8" } }),
          );
          return;
        }
        for (const [name, content] of Object.entries(pageSettings)) {
          html = html.replace(
            new RegExp(`<meta name="${name}" content="[^"]*"`),
            `<meta name="${name}" content="${content}"`,
          );
        }
        endResponse(
          new fetchAPI.Response(request.method === "HEAD" ? null : html, {
            headers: {
              "content-type": "text/html; charset=utf-8",
              "cache-control": "no-cache",
              "content-security-policy": CSP,
              ...SECURITY_HEADERS,
            },
          }),
        );
        return;
      }
      if (!pathname.startsWith("/assets/")) return;
      let file: string;
      try {
        file = resolve(root, `.${decodeURIComponent(pathname)}`);
      } catch {
        return; // a malformed escape: Yoga answers 404
      }
      if (!file.startsWith(assets)) return;
      let body: Buffer;
      try {
        body = await readFile(file);
      } catch {
        return; // Yoga answers 404
      }
      endResponse(
        new fetchAPI.Response(request.method === "HEAD" ? null : new Uint8Array(body), {
          headers: {
            "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream",
            // Vite puts a content hash in every asset name.
            "cache-control": "public, max-age=31536000, immutable",
            ...SECURITY_HEADERS,
          },
        }),
      );
    },
  };
}
