import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { redact } from "../secrets.js";
import { lookalikes, visibleName } from "../untrusted-text.js";
import { type CommandIO, table } from "./io.js";
import { withGateway } from "./with-gateway.js";

/** Connects every server once and reports each one; non-zero when any failed. Secrets from mcp.json are redacted. */
export async function doctorCommand(config: Config, io: CommandIO, logger: Logger): Promise<number> {
  const out = (text: string) => io.out(redact(text));
  return withGateway(config, logger, async (gateway) => {
    const statuses = gateway.status();
    const rows = statuses.map((s) => [
      s.name,
      s.state,
      String(s.toolCount),
      s.connectMs === undefined ? "-" : `${s.connectMs} ms`,
      s.error ?? "",
    ]);
    out(`config: ${config.file}`);
    out(table([["server", "status", "tools", "connect", "problem"], ...rows]));
    // A name that only looks like another (case, hidden characters) may be a server impersonating a tool.
    const looks = lookalikes(gateway.catalog.tools().map((t) => t.name));
    if (looks.size > 0) {
      out(
        `\nLookalike tool names (they differ only in case or hidden characters):\n${[...looks]
          .map(([name, other]) => `  ${visibleName(name)} looks like ${visibleName(other)}`)
          .join("\n")}`,
      );
    }
    const failed = statuses.filter((s) => s.state === "failed");
    out(
      failed.length === 0
        ? `\nAll ${statuses.length} servers OK.`
        : `\n${failed.length} of ${statuses.length} servers failed: ${failed.map((s) => s.name).join(", ")}. ` +
            "Check each command and its arguments in mcp.json, or set skillsmith.servers.<name>.disabled.",
    );
    return failed.length === 0 ? 0 : 1;
  });
}
