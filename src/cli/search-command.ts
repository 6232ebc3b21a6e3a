import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { readingLines, renderExplanation } from "../tools/format.js";
import { visibleName } from "../untrusted-text.js";
import { type CommandIO, table } from "./io.js";
import { withGateway } from "./with-gateway.js";

export interface SearchArgs {
  query: string;
  server?: string;
  limit: number;
  /** Say where each score came from. */
  explain?: boolean;
}

/** Connects every server once, searches, prints a table people can read. */
export async function searchCommand(
  config: Config,
  args: SearchArgs,
  io: CommandIO,
  logger: Logger,
): Promise<number> {
  return withGateway(config, logger, async (gateway) => {
    const output = await gateway.search({
      query: args.query,
      limit: args.limit,
      detail: "summary",
      ...(args.server !== undefined && { server: args.server }),
      ...(args.explain && { explain: true }),
    });
    const { results, total } = output;
    if (results.length === 0) {
      io.out(`No tools match "${args.query}".`);
      return 1;
    }
    const rows = results.map((r, i) => [
      String(i + 1),
      visibleName(r.name) + (r.lookalike !== undefined ? ` (LOOKALIKE of ${visibleName(r.lookalike)})` : ""),
      r.score.toFixed(2),
      (r.match !== undefined ? `[${r.match}] ` : "") + (r.description ?? ""),
    ]);
    io.out(table([["#", "name", "score", "description"], ...rows]));
    io.out(`\n${results.length} of ${total} matches.`);
    for (const line of readingLines(output)) io.out(line);
    if (args.explain) {
      io.out("\nwhy (terms as the index analyzed them):");
      for (const [i, r] of results.entries()) {
        if (r.explanation) io.out(`${i + 1}. ${visibleName(r.name)}: ${renderExplanation(r.explanation)}`);
      }
    }
    return 0;
  });
}
