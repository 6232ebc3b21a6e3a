import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/**
 * Nothing runs but the package's own scripts, nothing loads from elsewhere, no inline script or style, and no
 * other site may frame the page.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export const SECURITY_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** `web/` beside `src/` and `dist/` in the package (both are one folder below the package root). */
const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "web");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** Preact, its hooks and htm in one ES module, so the page needs no bundler and no import map. */
function vendorFile(): string {
  const require = createRequire(import.meta.url);
  // htm's exports name no CommonJS file for it: found beside the package's main (dist/htm.js).
  return path.join(path.dirname(require.resolve("htm")), "..", "preact", "standalone.mjs");
}

/** The URL paths the console answers, each to a file of the package; anything else is not found. */
function assetFiles(): Map<string, string> {
  const files = new Map<string, string>([
    ["/", path.join(WEB_DIR, "index.html")],
    ["/assets/vendor/preact-htm.js", vendorFile()],
  ]);
  for (const name of readdirSync(WEB_DIR)) {
    if (name !== "index.html" && path.extname(name) in TYPES)
      files.set(`/assets/${name}`, path.join(WEB_DIR, name));
  }
  return files;
}

interface Asset {
  type: string;
  body: Buffer;
  gzipped: Buffer;
  etag: string;
}

export interface StaticAssets {
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void>;
}

export function createStaticAssets(): StaticAssets {
  const files = assetFiles();
  // Read and compressed once: the files belong to the installed package and do not change under it.
  const loaded = new Map<string, Promise<Asset>>();
  const load = (file: string): Promise<Asset> => {
    let asset = loaded.get(file);
    if (!asset) {
      asset = readFile(file).then((body) => ({
        type: TYPES[path.extname(file)] ?? "application/octet-stream",
        body,
        gzipped: gzipSync(body),
        etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
      }));
      asset.catch(() => loaded.delete(file));
      loaded.set(file, asset);
    }
    return asset;
  };

  return {
    async serve(req, res, pathname) {
      const file = files.get(pathname);
      if (!file || (req.method !== "GET" && req.method !== "HEAD")) {
        res.writeHead(file ? 405 : 404, { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS });
        res.end(
          file
            ? "Method not allowed: the console's pages take GET."
            : "Not found: the console is at /, its API under /api/.",
        );
        return;
      }
      const asset = await load(file);
      const headers: Record<string, string> = {
        ...SECURITY_HEADERS,
        "content-type": asset.type,
        etag: asset.etag,
        // Revalidated on every load, so an upgraded package is seen at once; unchanged files answer 304.
        "cache-control": "no-cache",
        vary: "accept-encoding",
      };
      if (req.headers["if-none-match"] === asset.etag) {
        res.writeHead(304, headers);
        res.end();
        return;
      }
      const gzip = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
      const body = gzip ? asset.gzipped : asset.body;
      res.writeHead(200, {
        ...headers,
        ...(gzip && { "content-encoding": "gzip" }),
        "content-length": String(body.length),
      });
      res.end(req.method === "HEAD" ? undefined : body);
    },
  };
}
