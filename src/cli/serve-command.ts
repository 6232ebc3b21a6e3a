import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { Config } from "../config.js";
import { createGateway } from "../gateway.js";
import type { Logger } from "../logger.js";
import { createServer } from "../server.js";

/** Serves the gateway on a transport; returns the function that shuts everything down, children included. */
export async function serveCommand(
  config: Config,
  transport: Transport,
  logger: Logger,
): Promise<() => Promise<void>> {
  const gateway = createGateway({ config, logger, prewarm: true });
  await gateway.start();
  const server = createServer(gateway, logger);
  await server.connect(transport);
  logger.info(`serving ${config.servers.length} servers from ${config.file}`);
  return async () => {
    await server.close().catch(() => {});
    await gateway.close();
  };
}
