import type { Config } from "../config.js";
import { createGateway } from "../gateway.js";
import type { Logger } from "../logger.js";
import { skillEffects } from "../skills/annotations.js";
import { type CommandIO, table } from "./io.js";

/**
 * Lists the saved skills, what each calls and which skills call it; reads the skills folder (or the shared store)
 * only, no server is started.
 */
export async function skillsCommand(config: Config, io: CommandIO, logger: Logger): Promise<number> {
  const gateway = createGateway({ config: { ...config, servers: [] }, logger });
  try {
    await gateway.skills.load();
    const skills = gateway.skills.list();
    if (skills.length === 0) {
      const where = gateway.store.shared ? gateway.store.url : config.skillsDir;
      io.out(`No skills in ${where} yet. Agents save them with save_skill.`);
      return 0;
    }
    const rows = skills.map((s) => {
      const { tools, skills: callees, computedCalls } = skillEffects(s, gateway.catalog, gateway.skills.get);
      const called = [
        ...callees.map((c) => `${c} (skill)`),
        ...tools,
        ...(computedCalls ? ["(names computed at run time)"] : []),
      ];
      const usedBy = gateway.skills.usedBy(s.name);
      return [
        s.name,
        `v${s.version}`,
        s.updatedAt.slice(0, 10),
        called.join(", "),
        usedBy.join(", ") || "-",
        s.description,
      ];
    });
    io.out(table([["name", "version", "updated", "calls", "used by", "description"], ...rows]));
    return 0;
  } finally {
    await gateway.close();
  }
}
