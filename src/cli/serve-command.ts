import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { Config } from "../config.js";
import { errorMessage } from "../errors.js";
import { createGateway } from "../gateway.js";
import { type HttpOptions, startHttpServer } from "../http-server.js";
import type { Logger } from "../logger.js";
import { createServer } from "../server.js";

export type Listen = { kind: "stdio"; transport: Transport } | ({ kind: "http" } & HttpOptions);

/** Serves the gateway over stdio or HTTP; returns the function that shuts everything down, children included. */
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
    stop = () =>
      server.close().catch((error: unknown) => logger.debug(`closing stdio: ${errorMessage(error)}`));
    logger.info(`serving ${config.servers.length} servers from ${config.file} over stdio`);
  } else {
    const options = { ...listen, limits: config.http };
    const http = await startHttpServer(gateway, options, logger).catch(async (error: unknown) => {
      await gateway.close();
      throw error;
    });
    stop = http.close;
    logger.info(`serving ${config.servers.length} servers from ${config.file} at ${http.url}`);
  }
  return async () => {
    await stop();
    await gateway.close();
  };
}
