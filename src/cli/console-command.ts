import type { Config } from "../config.js";
import { createConsole } from "../console/console-routes.js";
import { createGateway } from "../gateway.js";
import { type HttpOptions, startHttpServer } from "../http-server.js";
import type { Logger } from "../logger.js";

/**
 * The web console alone, for a gateway served over stdio: a gateway of its own over the same mcp.json, skills
 * folder and store (so it sees the skills and runs the stdio one makes), and no /mcp endpoint. Returns the
 * function that shuts it down.
 */
export async function consoleCommand(
  config: Config,
  listen: HttpOptions,
  logger: Logger,
): Promise<() => Promise<void>> {
  const gateway = createGateway({ config, logger, serving: true });
  await gateway.start();
  const routes = { mcp: false, console: createConsole(gateway, logger) };
  const http = await startHttpServer(gateway, { ...listen, limits: config.http }, logger, routes).catch(
    async (error: unknown) => {
      await gateway.close();
      throw error;
    },
  );
  logger.info(`web console for ${config.file} at ${http.consoleUrl}`);
  return async () => {
    await http.close(config.shutdownGraceMs);
    await gateway.close();
  };
}
