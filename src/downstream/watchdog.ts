import { type ChildProcess, spawn } from "node:child_process";
import type { Socket } from "node:net";

/**
 * Runs in a process of its own, reading `+pgid` / `-pgid` lines: the process groups of the stdio servers alive.
 * When its stdin ends, the gateway is gone (the kernel closes the pipe even on SIGKILL); it signals every group
 * still listed, SIGTERM then SIGKILL after 2 s, and exits. A gateway that closed its servers listed none.
 */
const WATCHDOG = `
const groups = new Set();
let rest = "";
const signal = (name) => {
  for (const group of groups) {
    try { process.kill(-group, name); } catch {}
  }
};
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  const lines = (rest + chunk).split("\\n");
  rest = lines.pop();
  for (const line of lines) {
    const group = Number(line.slice(1));
    // A group id is a live process's pid: never 0 or 1, which would signal this process's own group or init.
    if (!Number.isInteger(group) || group <= 1) continue;
    if (line[0] === "+") groups.add(group);
    else groups.delete(group);
  }
});
process.stdin.on("end", () => {
  if (groups.size === 0) process.exit(0);
  signal("SIGTERM");
  setTimeout(() => { signal("SIGKILL"); process.exit(0); }, 2000);
});
`;

interface Watchdog {
  process: ChildProcess;
  /** Groups listed and not unlisted yet. */
  groups: number;
  exited: Promise<void>;
}

let watchdog: Watchdog | undefined;

function startWatchdog(): Watchdog {
  // Its own group too: a signal sent to the gateway's group (Ctrl-C in a terminal) must not end it first.
  const child = spawn(process.execPath, ["-e", WATCHDOG], {
    stdio: ["pipe", "ignore", "ignore"],
    detached: true,
  });
  const warn = (error: Error) =>
    process.emitWarning(
      `skillsmith: the watchdog of the stdio servers failed (${error.message}); ` +
        "a server may outlive a gateway that is killed outright.",
    );
  child.on("error", warn);
  child.stdin?.once("error", warn);
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  // While it guards, the gateway exits when its own work is done: neither the process nor its pipe holds it.
  child.unref();
  (child.stdin as Socket | null)?.unref();
  return { process: child, groups: 0, exited };
}

/**
 * POSIX only. A stdio server leads its own process group (so closing it reaches a wrapper's server too); such a
 * group outlives a gateway killed outright, since nothing signals it, and a server that ignores the end of its
 * stdin would run on. A watchdog process, one per gateway while any group is listed, ends those groups. Returns
 * the function that unlists the group once it is closed, so a later group that reuses its id is never signalled.
 */
export function guardGroup(pgid: number): () => Promise<void> {
  watchdog ??= startWatchdog();
  const dog = watchdog;
  dog.groups += 1;
  dog.process.stdin?.write(`+${pgid}\n`);
  return async () => {
    const stdin = dog.process.stdin;
    if (stdin?.writable) stdin.write(`-${pgid}\n`);
    dog.groups -= 1;
    if (dog.groups > 0) return;
    // Nothing left to guard: it ends now, while the gateway is there to reap it (an orphan waits for init to).
    if (watchdog === dog) watchdog = undefined;
    stdin?.end();
    dog.process.ref();
    await dog.exited;
  };
}
