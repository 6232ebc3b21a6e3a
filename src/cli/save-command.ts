import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { renderSave } from "../tools/format.js";
import type { CommandIO } from "./io.js";
import { withGateway } from "./with-gateway.js";

export interface SaveArgs {
  name: string;
  fromRun: string;
  description: string;
  overwrite: boolean;
}

/** Saves the code of a run that succeeded (`skillsmith run --code …` printed its runId) as a skill. */
export async function saveCommand(
  config: Config,
  args: SaveArgs,
  io: CommandIO,
  logger: Logger,
): Promise<number> {
  return withGateway(config, logger, async (gateway) => {
    io.out(renderSave(await gateway.skills.save(args)));
    return 0;
  });
}
