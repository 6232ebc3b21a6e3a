import { readFile } from "node:fs/promises";
import type { Config } from "../config.js";
import { errorMessage, SkillsmithError } from "../errors.js";
import type { Logger } from "../logger.js";
import { renderRun } from "../tools/format.js";
import type { CommandIO } from "./io.js";
import { parseJsonObject } from "./json-argument.js";
import { withGateway } from "./with-gateway.js";

async function readCode(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new SkillsmithError(
      "INVALID_ARGUMENTS",
      `--code ${file}: cannot read it (${errorMessage(error)}).`,
    );
  }
}

/** A saved skill by `name`, or code from a file, run ad hoc. */
export interface RunArgs {
  name?: string;
  codeFile?: string;
  inputJson: string;
  resume?: string;
}

/** Runs a saved skill or a file of code against the configured servers, printing a line per step as it completes. */
export async function runCommand(
  config: Config,
  args: RunArgs,
  io: CommandIO,
  logger: Logger,
): Promise<number> {
  const input = parseJsonObject(args.inputJson, "--input");
  const code = args.codeFile === undefined ? undefined : await readCode(args.codeFile);
  return withGateway(config, logger, async (gateway) => {
    const request = {
      input,
      ...(args.name !== undefined && { name: args.name }),
      ...(code !== undefined && { code }),
      ...(args.resume !== undefined && { resume: args.resume }),
    };
    const run = await gateway.skills.run(request, {
      onStep: (step) =>
        io.err(
          `  step ${step.index} "${step.label}" ${step.replayed ? "replayed" : `done in ${step.ms} ms`}`,
        ),
    });
    io.out(renderRun(run));
    return run.status === "ok" ? 0 : 1;
  });
}
