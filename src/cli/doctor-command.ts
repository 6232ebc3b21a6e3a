import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { type CommandIO, table } from "./io.js";
import { withGateway } from "./with-gateway.js";

/** Connects every server once and reports each one; non-zero when any failed. */
export async function doctorCommand(config: Config, io: CommandIO, logger: Logger): Promise<number> {
  return withGateway(config, logger, async (gateway) => {
    const statuses = gateway.status();
    const rows = statuses.map((s) => [
      s.name,
      s.state,
      String(s.toolCount),
      s.connectMs === undefined ? "-" : `${s.connectMs} ms`,
      s.error ?? "",
    ]);
    io.out(`config: ${config.file}`);
    io.out(table([["server", "status", "tools", "connect", "problem"], ...rows]));
    const failed = statuses.filter((s) => s.state === "failed");
    io.out(
      failed.length === 0
        ? `\nAll ${statuses.length} servers OK.`
        : `\n${failed.length} of ${statuses.length} servers failed: ${failed.map((s) => s.name).join(", ")}. ` +
            "Check each command and its arguments in mcp.json, or set skillsmith.servers.<name>.disabled.",
    );
    return failed.length === 0 ? 0 : 1;
  });
}
