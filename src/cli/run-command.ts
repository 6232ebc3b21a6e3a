import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { renderRun } from "../tools/format.js";
import type { CommandIO } from "./io.js";
import { parseJsonObject } from "./json-argument.js";
import { withGateway } from "./with-gateway.js";

export interface RunArgs {
  name: string;
  inputJson: string;
  resume?: string;
}

/** Runs a saved skill against the configured servers, printing a line per step as it completes. */
export async function runCommand(
  config: Config,
  args: RunArgs,
  io: CommandIO,
  logger: Logger,
): Promise<number> {
  const input = parseJsonObject(args.inputJson, "--input");
  return withGateway(config, logger, async (gateway) => {
    const run = await gateway.skills.run(args.name, input, {
      ...(args.resume !== undefined && { resume: args.resume }),
      onStep: (step) =>
        io.err(
          `  step ${step.index} "${step.label}" ${step.replayed ? "replayed" : `done in ${step.ms} ms`}`,
        ),
    });
    io.out(renderRun(run));
    return run.status === "ok" ? 0 : 1;
  });
}
