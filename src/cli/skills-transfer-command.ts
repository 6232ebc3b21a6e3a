import path from "node:path";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { createSkillStore } from "../skills/skill-store.js";
import { openSkillStore, transferSkills } from "../skills/skill-transfer.js";
import { createStateStore } from "../store/state-store.js";
import { type CommandIO, table } from "./io.js";

/**
 * `skills export <dir>`: every skill of the configured store (Redis, or the skills folder) into a folder, every
 * version kept; `skills import <dir>`: the other way. Versions keep their numbers; one already there with other
 * code is reported and left alone (exit code 1).
 */
export async function skillsTransferCommand(
  config: Config,
  direction: "export" | "import",
  dir: string,
  io: CommandIO,
  logger: Logger,
): Promise<number> {
  const state = createStateStore(config.store, logger);
  try {
    const folder = createSkillStore(path.resolve(dir), logger, state);
    const configured = openSkillStore(config.skillsDir, state, logger);
    const where = state.shared ? state.url : config.skillsDir;
    const [from, to] = direction === "export" ? [configured, folder] : [folder, configured];
    const done = await transferSkills(from, to);
    if (done.length === 0) {
      io.out(`No skills to ${direction} in ${direction === "export" ? where : path.resolve(dir)}.`);
      return 0;
    }
    const list = (versions: number[]) => (versions.length ? versions.map((v) => `v${v}`).join(" ") : "-");
    io.out(
      table([
        ["name", "current", "copied", "already there", "conflicts"],
        ...done.map((d) => [d.name, `v${d.current}`, list(d.added), list(d.same), list(d.conflicts)]),
      ]),
    );
    const conflicted = done.filter((d) => d.conflicts.length > 0);
    const target = direction === "export" ? path.resolve(dir) : where;
    io.out(`${direction === "export" ? "Exported" : "Imported"} ${done.length} skill(s) to ${target}.`);
    if (conflicted.length === 0) return 0;
    io.err(
      `${conflicted.map((d) => d.name).join(", ")}: some versions already exist in ${target} with other code and were left as they were. ` +
        "Save the skill under another name, or remove those versions there, then run this again.",
    );
    return 1;
  } finally {
    await state.close();
  }
}
