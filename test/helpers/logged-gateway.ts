import type { Logger } from "../../src/logger.js";
import { startGateway, type TestGateway } from "./gateway.js";

export interface LoggedGateway extends TestGateway {
  /** Every warn and error line the gateway logged, in order. */
  logs: string[];
}

/** Like startGateway, with the gateway's warnings and errors kept for the test to read. */
export async function startLoggedGateway(raw: unknown, baseDir: string): Promise<LoggedGateway> {
  const logs: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (m) => logs.push(m), error: (m) => logs.push(m) };
  return { ...(await startGateway(raw, baseDir, { logger })), logs };
}
