// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the config format itself uses ${VAR} in plain strings
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Config, defaultSandboxWorkers, loadConfig, parseConfig } from "../src/config.js";
import { SkillsmithError } from "../src/errors.js";
import { removeDir, tempDir } from "./helpers/gateway.js";

const base = path.resolve("/work/project");

function parse(raw: unknown, env: NodeJS.ProcessEnv = {}): Config {
  return parseConfig(raw, { baseDir: base, env });
}

/** The CONFIG_INVALID error that `run` throws. */
function configError(run: () => unknown): SkillsmithError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SkillsmithError);
    const e = error as SkillsmithError;
    expect(e.code).toBe("CONFIG_INVALID");
    return e;
  }
  throw new Error("expected a CONFIG_INVALID error, got none");
}

async function configErrorAsync(run: () => Promise<unknown>): Promise<SkillsmithError> {
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SkillsmithError);
  expect((error as SkillsmithError).code).toBe("CONFIG_INVALID");
  return error as SkillsmithError;
}

describe("parseConfig", () => {
  it("accepts Claude Desktop's shape and fills defaults", () => {
    const config = parse({
      mcpServers: {
        files: { command: "npx", args: ["-y", "server-filesystem", "."], env: { A: "1" } },
        remote: { url: "https://example.com/mcp", headers: { "X-Key": "k" } },
        legacy: { type: "sse", url: "http://127.0.0.1:9000/sse" },
      },
    });
    const [files, remote, legacy] = config.servers;
    expect(files).toMatchObject({
      name: "files",
      kind: "stdio",
      command: "npx",
      args: ["-y", "server-filesystem", "."],
      env: { A: "1" },
      cwd: base,
      options: { probe: "readOnly", concurrency: 8, timeoutMs: 60_000, disabled: false },
    });
    expect(remote).toMatchObject({
      name: "remote",
      kind: "http",
      url: "https://example.com/mcp",
      headers: { "X-Key": "k" },
      transport: "streamable",
    });
    expect(legacy).toMatchObject({ kind: "http", transport: "sse" });
    expect(config.skillsDir).toBe(path.join(base, "skills"));
    expect(config.registryDir).toBe(path.join(base, "registry"));
  });

  it("ignores keys other clients put in a server entry", () => {
    const config = parse({ mcpServers: { a: { command: "x", autoApprove: ["*"], disabled: false } } });
    expect(config.servers[0]).toMatchObject({ name: "a", command: "x" });
  });

  it("names mcpServers.<name>.command when a server has neither command nor url", () => {
    const error = configError(() => parse({ mcpServers: { github: { args: ["serve"] } } }));
    expect(error.message).toContain("mcpServers.github.command");
    expect(error.message).toMatch(/required/);
    expect(error.data.issues).toEqual([expect.stringContaining("mcpServers.github.command")]);
  });

  it("refuses a server with both command and url", () => {
    const error = configError(() => parse({ mcpServers: { both: { command: "x", url: "http://h/mcp" } } }));
    expect(error.message).toContain("mcpServers.both.url");
    expect(error.message).toMatch(/not both/);
  });

  it.each(["not a url", "ftp://example.com/mcp", "file:///etc/passwd"])(
    "refuses the url %j, naming its path",
    (url) => {
      const error = configError(() => parse({ mcpServers: { remote: { url } } }));
      expect(error.message).toContain("mcpServers.remote.url");
      expect(error.message).toMatch(/http\(s\) URL/);
    },
  );

  it("shares HTTP sessions by default only with a Redis store, and refuses shared sessions without one", () => {
    expect(parse({ mcpServers: {} }).http.sessions).toBe("local");
    expect(parse({ mcpServers: {}, skillsmith: { store: "redis://h:6379" } }).http.sessions).toBe("shared");
    const stateless = { store: "redis://h:6379", http: { sessions: "stateless" } };
    expect(parse({ mcpServers: {}, skillsmith: stateless }).http.sessions).toBe("stateless");
    const error = configError(() => parse({ mcpServers: {}, skillsmith: { http: { sessions: "shared" } } }));
    expect(error.message).toContain("skillsmith.http.sessions");
    expect(error.message).toMatch(/redis:\/\//);
    const unknown = configError(() =>
      parse({ mcpServers: {}, skillsmith: { http: { sessions: "sticky" } } }),
    );
    expect(unknown.message).toContain("skillsmith.http.sessions");
  });

  it("refuses an empty command", () => {
    const error = configError(() => parse({ mcpServers: { a: { command: "" } } }));
    expect(error.message).toContain("mcpServers.a.command");
  });

  it("expands ${VAR} from the environment in every string", () => {
    const config = parse(
      {
        mcpServers: {
          remote: { url: "https://${HOST}/mcp", headers: { Authorization: "Bearer ${TOKEN}" } },
          local: { command: "${BIN}", args: ["--root", "${ROOT}/data"], env: { KEY: "${TOKEN}" } },
        },
      },
      { HOST: "api.example.com", TOKEN: "s3cret", BIN: "my-server", ROOT: "/srv" },
    );
    const [remote, local] = config.servers;
    expect(remote).toMatchObject({
      url: "https://api.example.com/mcp",
      headers: { Authorization: "Bearer s3cret" },
    });
    expect(local).toMatchObject({
      command: "my-server",
      args: ["--root", "/srv/data"],
      env: { KEY: "s3cret" },
    });
  });

  it("uses ${VAR:-default} when VAR is unset, and VAR when it is set", () => {
    const raw = { mcpServers: { a: { command: "x", args: ["${LEVEL:-info}", "${EMPTY:-}"] } } };
    expect(parse(raw).servers[0]).toMatchObject({ args: ["info", ""] });
    expect(parse(raw, { LEVEL: "debug" }).servers[0]).toMatchObject({ args: ["debug", ""] });
  });

  it("names the path and the variable when one is missing", () => {
    const error = configError(() =>
      parse({
        mcpServers: { remote: { url: "https://h/mcp", headers: { Authorization: "Bearer ${TOKEN}" } } },
      }),
    );
    expect(error.message).toContain("mcpServers.remote.headers.Authorization");
    expect(error.message).toContain("TOKEN");
    expect(error.message).toContain("${TOKEN:-default}");
  });

  it("resolves relative skillsDir, registryDir, store and cwd from the base folder, and keeps absolute ones", () => {
    const elsewhere = path.resolve("/elsewhere/registry");
    const config = parse({
      mcpServers: { a: { command: "x", cwd: "servers/a" }, b: { command: "y", cwd: "/abs/b" } },
      skillsmith: { skillsDir: "my-skills", registryDir: elsewhere, store: "file:state/db" },
    });
    expect(config.skillsDir).toBe(path.join(base, "my-skills"));
    expect(config.registryDir).toBe(elsewhere);
    expect(config.store).toBe(`file:${path.join(base, "state/db")}`);
    expect(config.servers[0]).toMatchObject({ cwd: path.join(base, "servers/a") });
    expect(config.servers[1]).toMatchObject({ cwd: path.resolve("/abs/b") });
  });

  it("applies per-server options", () => {
    const config = parse({
      mcpServers: { files: { command: "x" }, other: { command: "y" } },
      skillsmith: {
        servers: {
          files: {
            probe: "any",
            skills: "readOnly",
            concurrency: 2,
            timeoutMs: 500,
            disabled: true,
            maxMessageBytes: 65536,
          },
        },
      },
    });
    expect(config.servers[0]?.options).toEqual({
      probe: "any",
      skills: "readOnly",
      concurrency: 2,
      timeoutMs: 500,
      disabled: true,
      maxMessageBytes: 65536,
    });
    expect(config.servers[1]?.options).toMatchObject({
      probe: "readOnly",
      skills: "any",
      disabled: false,
      maxMessageBytes: 10 * 1024 * 1024,
    });
  });

  it("names an out-of-range per-server option", () => {
    const error = configError(() =>
      parse({
        mcpServers: { files: { command: "x" } },
        skillsmith: { servers: { files: { concurrency: 0 } } },
      }),
    );
    expect(error.message).toContain("skillsmith.servers.files.concurrency");
  });

  it("sizes the sandbox's worker pool to the machine by default: a core for the gateway, at least 2, at most 64", () => {
    expect(parse({ mcpServers: {} }).sandbox.workers).toBe(defaultSandboxWorkers(availableParallelism()));
    expect([1, 2, 3, 8, 200].map((cores) => defaultSandboxWorkers(cores))).toEqual([2, 2, 2, 7, 64]);
    expect(parse({ mcpServers: {}, skillsmith: { sandbox: { timeoutMs: 5000 } } }).sandbox.workers).toBe(
      defaultSandboxWorkers(),
    );
  });

  it("takes skillsmith.sandbox.workers as given, from 1 to 64", () => {
    for (const workers of [1, 3, 64]) {
      expect(parse({ mcpServers: {}, skillsmith: { sandbox: { workers } } }).sandbox.workers).toBe(workers);
    }
  });

  it("refuses a worker count that is not a whole number from 1 to 64, naming skillsmith.sandbox.workers", () => {
    const cases: Array<[unknown, string]> = [
      [0, "must be at least 1"],
      [-2, "must be at least 1"],
      [65, "must be at most 64"],
      [1.5, "must be a whole number of workers"],
      ["4", "must be a whole number of workers"],
      [null, "must be a whole number of workers"],
    ];
    for (const [workers, why] of cases) {
      const error = configError(() => parse({ mcpServers: {}, skillsmith: { sandbox: { workers } } }));
      expect(error.message).toContain(`skillsmith.sandbox.workers: ${why}`);
    }
  });

  it("keeps HTTP event streams resumable unless skillsmith.http.resumable is false, and takes only a boolean", () => {
    expect(parse({ mcpServers: {} }).http.resumable).toBe(true);
    expect(parse({ mcpServers: {}, skillsmith: { http: { resumable: false } } }).http.resumable).toBe(false);
    const error = configError(() => parse({ mcpServers: {}, skillsmith: { http: { resumable: "no" } } }));
    expect(error.message).toContain("skillsmith.http.resumable");
  });

  it("refuses skillsmith.servers naming a server that mcpServers does not have, listing the known ones", () => {
    const error = configError(() =>
      parse({
        mcpServers: { files: { command: "x" }, memory: { command: "y" } },
        skillsmith: { servers: { github: { probe: "any" } } },
      }),
    );
    expect(error.message).toContain("skillsmith.servers.github");
    expect(error.message).toContain("files, memory");
  });

  it("refuses a misspelt key in the skillsmith block", () => {
    const error = configError(() =>
      parse({ mcpServers: { a: { command: "x" } }, skillsmith: { registrydir: "reg" } }),
    );
    expect(error.message).toContain("skillsmith");
    expect(error.message).toContain("registrydir");
  });

  it("refuses a server name with a dot, saying why", () => {
    const error = configError(() => parse({ mcpServers: { "my.server": { command: "x" } } }));
    expect(error.message).toContain("my.server");
    expect(error.message).toMatch(/no dots/);
  });

  it("refuses a config without mcpServers", () => {
    expect(configError(() => parse({})).message).toContain("mcpServers");
    expect(configError(() => parse([])).message).toContain("(root)");
  });

  it("reports every problem at once", () => {
    const error = configError(() =>
      parse({ mcpServers: { a: {}, b: { url: "nope" }, c: { command: "x", url: "http://h" } } }),
    );
    expect(error.data.issues).toHaveLength(3);
  });
});

describe("loadConfig", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir("skillsmith-config-");
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it("resolves relative paths from the config file's folder, not the working directory", async () => {
    const folder = path.join(dir, "project");
    await mkdir(folder, { recursive: true });
    const file = path.join(folder, "mcp.json");
    await writeFile(
      file,
      JSON.stringify({
        mcpServers: { a: { command: "x", cwd: "sub" } },
        skillsmith: { skillsDir: "sk", registryDir: "reg" },
      }),
    );
    const config = await loadConfig(path.relative(process.cwd(), file), {});
    expect(config.file).toBe(file);
    expect(config.skillsDir).toBe(path.join(folder, "sk"));
    expect(config.registryDir).toBe(path.join(folder, "reg"));
    expect(config.store).toBe(`file:${path.join(folder, ".skillsmith/state")}`);
    expect(config.servers[0]).toMatchObject({ cwd: path.join(folder, "sub") });
  });

  it("expands variables from the environment it is given", async () => {
    const file = path.join(dir, "env.json");
    await writeFile(file, JSON.stringify({ mcpServers: { a: { command: "${BIN}" } } }));
    const config = await loadConfig(file, { BIN: "/opt/server" });
    expect(config.servers[0]).toMatchObject({ command: "/opt/server" });
  });

  it("reports invalid JSON as CONFIG_INVALID naming the file", async () => {
    const file = path.join(dir, "broken.json");
    await writeFile(file, '{ "mcpServers": { "a": { "command": "x" }, } ');
    const error = await configErrorAsync(() => loadConfig(file, {}));
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/not valid JSON/);
    expect(error.data.path).toBe(file);
  });

  it("reports a missing file as CONFIG_INVALID naming the file", async () => {
    const file = path.join(dir, "nowhere", "mcp.json");
    const error = await configErrorAsync(() => loadConfig(file, {}));
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/file not found/);
    expect(error.message).toContain("--config");
  });

  it("names the file in a schema error", async () => {
    const file = path.join(dir, "bad-schema.json");
    await writeFile(file, JSON.stringify({ mcpServers: { github: {} } }));
    const error = await configErrorAsync(() => loadConfig(file, {}));
    expect(error.message).toContain(file);
    expect(error.message).toContain("mcpServers.github.command");
  });
});
