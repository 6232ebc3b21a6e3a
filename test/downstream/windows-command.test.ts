import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findCommand, quoteForCmd, windowsInvocation } from "../../src/downstream/windows-command.js";
import { removeDir, tempDir } from "../helpers/gateway.js";

/** cross-spawn's own escaping, which the MCP SDK's transport uses on Windows: ours must match it. */
const crossSpawn = createRequire(import.meta.url)("cross-spawn/lib/util/escape.js") as {
  argument(argument: string, twice: boolean): string;
  command(command: string): string;
};

/** Arguments a config or a hostile server name could carry to cmd.exe. */
const HOSTILE = [
  "plain",
  "two words",
  "& calc.exe",
  'quote " inside',
  "trailing backslash\\",
  'back\\\\"slashes',
  "%PATH%",
  "!delayed!",
  "^caret|pipe>out<in",
  "(parens) [brackets] ;,*?`",
  "",
];

describe("spawning on Windows as cross-spawn does", () => {
  let dir: string;
  let bin: string;
  beforeAll(async () => {
    dir = await tempDir("skillsmith-windows-");
    bin = path.join(dir, "node_modules", ".bin");
    await mkdir(bin, { recursive: true });
    await writeFile(path.join(dir, "tool.cmd"), "@echo off\r\n");
    await writeFile(path.join(dir, "server.exe"), "");
    await writeFile(path.join(bin, "shim.cmd"), "@echo off\r\n");
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it.each(HOSTILE)("quotes %j as cross-spawn does, once and for a cmd-shim", (argument) => {
    expect(quoteForCmd(argument, false)).toBe(crossSpawn.argument(argument, false));
    expect(quoteForCmd(argument, true)).toBe(crossSpawn.argument(argument, true));
  });

  // Lower-case extensions here: this runs on case-sensitive file systems too, where Windows would not care.
  it("finds a command through PATH and PATHEXT, in any case, and nothing that is not there", () => {
    const env = { Path: bin, PATHEXT: ".exe;.cmd" };
    expect(findCommand("tool", env, dir)).toBe(path.join(dir, "tool.cmd"));
    expect(findCommand("shim", env, path.join(dir, "elsewhere"))).toBe(path.join(bin, "shim.cmd"));
    expect(findCommand("tool.cmd", env, dir)).toBe(path.join(dir, "tool.cmd"));
    expect(findCommand("missing", env, dir)).toBeUndefined();
    expect(findCommand("tool", { PATHEXT: ".exe" }, dir)).toBeUndefined();
  });

  it("runs an .exe as it is and a .cmd through cmd.exe, every argument quoted", () => {
    const env = { PATH: bin, PATHEXT: ".exe;.cmd" };
    expect(windowsInvocation("server", ["& calc"], env, dir, "C:\\cmd.exe")).toEqual({
      command: "server",
      args: ["& calc"],
      verbatim: false,
    });
    expect(windowsInvocation("tool", ["a b", "& calc"], env, dir, "C:\\cmd.exe")).toEqual({
      command: "C:\\cmd.exe",
      args: [
        "/d",
        "/s",
        "/c",
        `"tool ${crossSpawn.argument("a b", false)} ${crossSpawn.argument("& calc", false)}"`,
      ],
      verbatim: true,
    });
    expect(windowsInvocation("shim", ["& calc"], env, dir, "C:\\cmd.exe").args[3]).toBe(
      `"shim ${crossSpawn.argument("& calc", true)}"`,
    );
    expect(windowsInvocation("missing", ["x"], env, dir, "C:\\cmd.exe")).toEqual({
      command: "missing",
      args: ["x"],
      verbatim: false,
    });
  });
});
