import type { Config } from "../config.js";
import { createGateway, type Gateway } from "../gateway.js";
import type { Logger } from "../logger.js";

/** For one-shot commands: a gateway whose servers have each connected or failed once, closed after `use`. */
export async function withGateway<T>(
  config: Config,
  logger: Logger,
  use: (gateway: Gateway) => Promise<T>,
): Promise<T> {
  const gateway = createGateway({ config, logger });
  try {
    await gateway.start();
    await gateway.settled();
    return await use(gateway);
  } finally {
    await gateway.close();
  }
}
