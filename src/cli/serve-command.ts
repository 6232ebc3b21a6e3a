import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { Config } from "../config.js";
import { createConsole } from "../console/console-routes.js";
import { errorMessage } from "../errors.js";
import { createGateway } from "../gateway.js";
import { type HttpOptions, startHttpServer } from "../http-server.js";
import type { Logger } from "../logger.js";
import { createServer } from "../server.js";
import { drainRequests, trackRequests } from "../shutdown.js";

export type Listen = { kind: "stdio"; transport: Transport } | ({ kind: "http" } & HttpOptions);

/**
 * Serves the gateway over stdio or HTTP; returns the function that shuts everything down: new requests are
 * refused, those in flight get `shutdownGraceMs` to finish (the rest are answered with an error), then the
 * clients' side closes, then the downstream servers.
 */
export async function serveCommand(
  config: Config,
  listen: Listen,
  logger: Logger,
): Promise<() => Promise<void>> {
  const gateway = createGateway({ config, logger, serving: true });
  await gateway.start();
  let stop: () => Promise<void>;
  if (listen.kind === "stdio") {
    const server = createServer(gateway, logger);
    await server.connect(listen.transport);
    const requests = trackRequests(listen.transport, logger);
    stop = async () => {
      await drainRequests([requests], config.shutdownGraceMs, logger);
      await server.close().catch((error: unknown) => logger.debug(`closing stdio: ${errorMessage(error)}`));
    };
    logger.info(`serving ${config.servers.length} servers from ${config.file} over stdio`);
  } else {
    const options = { ...listen, limits: config.http };
    const routes = { mcp: true, console: createConsole(gateway, logger) };
    const http = await startHttpServer(gateway, options, logger, routes).catch(async (error: unknown) => {
      await gateway.close();
      throw error;
    });
    stop = () => http.close(config.shutdownGraceMs);
    logger.info(`serving ${config.servers.length} servers from ${config.file} at ${http.url}`);
    logger.info(`web console at ${http.consoleUrl}`);
  }
  return async () => {
    await stop();
    await gateway.close();
  };
}
