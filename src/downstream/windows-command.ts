import { statSync } from "node:fs";
import path from "node:path";

/**
 * Windows only: how a stdio server is spawned without a shell of ours, as the MCP SDK's transport does through
 * cross-spawn. Node runs only .exe and .com files directly; a server started as `npx` is `npx.cmd`, which needs
 * cmd.exe, and cmd.exe reads one command line, so every argument is quoted and its special characters escaped:
 * an argument can never become a second command. (cross-spawn also runs extension-less scripts through their
 * shebang's interpreter; Windows cannot run those itself, and neither does this.)
 */

/** cmd.exe's special characters, each escaped with ^. */
const META = /([()\][%!^"`<>&|;, *?])/g;

const isFile = (file: string) => {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

/** An environment variable by its name in any case, as Windows looks names up. */
const variable = (env: Record<string, string>, name: string) =>
  Object.entries(env).find(([key]) => key.toUpperCase() === name)?.[1];

/**
 * The file Windows runs for `command`, looked up as cross-spawn does: a name with a slash as it is, else in the
 * working folder, then in each PATH folder; with each PATHEXT extension, or as given when it has an extension.
 */
export function findCommand(command: string, env: Record<string, string>, cwd: string): string | undefined {
  const extensions = (variable(env, "PATHEXT") ?? ".EXE;.CMD;.BAT;.COM").split(";").filter(Boolean);
  const folders = /[\\/]/.test(command)
    ? [""]
    : [
        cwd,
        ...(variable(env, "PATH") ?? "")
          .split(";")
          .filter(Boolean)
          .map((folder) => folder.replace(/^"(.*)"$/, "$1")),
      ];
  const suffixes = command.includes(".") ? ["", ...extensions] : extensions;
  for (const folder of folders) {
    for (const suffix of suffixes) {
      const file = path.resolve(cwd, folder, command + suffix);
      const upper = file.toUpperCase();
      if (extensions.some((extension) => upper.endsWith(extension.toUpperCase())) && isFile(file))
        return file;
    }
  }
  return undefined;
}

/** Quotes an argument for a command line cmd.exe reads (https://qntm.org/cmd), then escapes cmd.exe's characters. */
export function quoteForCmd(argument: string, twice: boolean): string {
  const quoted =
    `"${argument.replace(/(?=(\\+?)?)\1"/g, '$1$1\\"').replace(/(?=(\\+?)?)\1$/, "$1$1")}"`.replace(
      META,
      "^$1",
    );
  return twice ? quoted.replace(META, "^$1") : quoted;
}

export interface Invocation {
  command: string;
  args: string[];
  /** The arguments are one command line quoted here: Node must pass them on as they are. */
  verbatim: boolean;
}

/** What to spawn for `command` on Windows: the command itself, or cmd.exe running it when it is not an .exe or .com. */
export function windowsInvocation(
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
  comspec = process.env.comspec,
): Invocation {
  const file = findCommand(command, env, cwd);
  if (file === undefined || /\.(?:com|exe)$/i.test(file)) return { command, args, verbatim: false };
  // A cmd-shim in node_modules/.bin hands its arguments to cmd.exe once more: they are escaped twice.
  const twice = /node_modules[\\/]\.bin[\\/][^\\/]+\.cmd$/i.test(file);
  const line = [path.normalize(command).replace(META, "^$1"), ...args.map((arg) => quoteForCmd(arg, twice))];
  return { command: comspec || "cmd.exe", args: ["/d", "/s", "/c", `"${line.join(" ")}"`], verbatim: true };
}
