import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { renderProbe } from "../tools/format.js";
import type { CommandIO } from "./io.js";
import { parseJsonObject } from "./json-argument.js";
import { withGateway } from "./with-gateway.js";

export interface ProbeArgs {
  tool: string;
  argumentsJson: string;
  allowSideEffects: boolean;
  fresh: boolean;
}

/** Probes one tool and prints its shape and sample. */
export async function probeCommand(
  config: Config,
  args: ProbeArgs,
  io: CommandIO,
  logger: Logger,
): Promise<number> {
  const toolArguments = parseJsonObject(args.argumentsJson, "The arguments");
  return withGateway(config, logger, async (gateway) => {
    const result = await gateway.probe({
      tool: args.tool,
      arguments: toolArguments,
      allowSideEffects: args.allowSideEffects,
      fresh: args.fresh,
    });
    io.out(renderProbe(result));
    return result.ok ? 0 : 1;
  });
}
