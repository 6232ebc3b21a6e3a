import type { Config } from "../config.js";
import { SkillsmithError } from "../errors.js";
import { createGateway } from "../gateway.js";
import type { Logger } from "../logger.js";
import { renderProbe } from "../tools/probe-tool.js";
import type { CommandIO } from "./io.js";

export interface ProbeArgs {
  tool: string;
  argumentsJson: string;
  allowSideEffects: boolean;
  fresh: boolean;
}

function parseArguments(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SkillsmithError(
      "INVALID_ARGUMENTS",
      `The arguments are not valid JSON (${(error as Error).message}); quote them: '{"a": 1}'`,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new SkillsmithError(
      "INVALID_ARGUMENTS",
      'The arguments must be a JSON object, e.g. \'{"path": "."}\'',
    );
  }
  return value as Record<string, unknown>;
}

/** Probes one tool and prints its shape and sample. */
export async function probeCommand(
  config: Config,
  args: ProbeArgs,
  io: CommandIO,
  logger: Logger,
): Promise<number> {
  const toolArguments = parseArguments(args.argumentsJson);
  const gateway = createGateway({ config, logger });
  try {
    await gateway.start();
    await gateway.settled();
    const result = await gateway.probe({
      tool: args.tool,
      arguments: toolArguments,
      allowSideEffects: args.allowSideEffects,
      fresh: args.fresh,
    });
    io.out(renderProbe(result));
    return result.ok ? 0 : 1;
  } finally {
    await gateway.close();
  }
}
