import { readFileSync } from "node:fs";

/** The package version, read once from package.json (one folder up from both src/ and dist/). */
export const VERSION: string = (() => {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    return pkg !== null && typeof pkg === "object" && "version" in pkg ? String(pkg.version) : "0.0.0";
  } catch {
    return "0.0.0";
  }
})();
