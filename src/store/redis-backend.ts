import KeyvRedis, { createClient } from "@keyv/redis";
import Keyv from "keyv";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import { type Backend, keyvFormat } from "./backend.js";

/** A command waits this long for Redis at most: the store is a cache, a search must not wait on it. */
const COMMAND_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 2000;

/**
 * ARGV: expected present ("1"/"0"), expected value, next value ("" deletes), ttl in ms ("0": none).
 * Absent and expired keys are both `false` to GET, like `read`.
 */
const SWAP = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then return 0 end
if ARGV[3] == '' then redis.call('DEL', KEYS[1])
elseif ARGV[4] ~= '0' then redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
else redis.call('SET', KEYS[1], ARGV[3]) end
return 1`;

/**
 * `redis://…`: state shared by gateway instances on any host. Fails fast while Redis is down: once connected, no
 * offline queue (a command during an outage fails at once), a timeout on every command, reconnection in the
 * background.
 */
export function redisBackend(url: string, logger: Logger): Backend {
  const client = createClient({
    url,
    // Queued (up to the command timeout) only until the first connection: see "ready" below.
    disableOfflineQueue: false,
    commandOptions: { timeout: COMMAND_TIMEOUT_MS },
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
    },
  });
  // Said once per outage, not once per reconnection attempt.
  let down = false;
  client.on("error", (error: unknown) => {
    if (down) return;
    down = true;
    logger.warn(
      `store ${url}: ${errorMessage(error)}; answering without it (as cache misses) until it is back`,
    );
  });
  client.on("ready", () => {
    // From then on a command while Redis is away fails at once rather than waiting for a reconnection.
    client.options.disableOfflineQueue = true;
    if (down) logger.info(`store ${url}: connected again`);
    down = false;
  });
  // Errors are said by the listener above; commands fail fast until it connects.
  void client.connect().catch(() => {});
  // keyv's own key scheme: `<namespace>:<key>`, which KeyvRedis prefixes with its namespace and "::".
  const keyvNamespace = (namespace: string) => `skillsmith:${namespace}`;
  const rawKey = (namespace: string, key: string) =>
    `${keyvNamespace(namespace)}::${keyvNamespace(namespace)}:${key}`;

  return {
    // Redis bounds itself: every entry has its TTL, and the operator's maxmemory policy holds the rest.
    keyv: <T>(namespace: string) =>
      new Keyv<T>({
        store: new KeyvRedis(client, { throwOnErrors: true, throwOnConnectError: true }),
        namespace: keyvNamespace(namespace),
        ...keyvFormat,
      }),
    async read(namespace, key) {
      return (await client.get(rawKey(namespace, key))) ?? undefined;
    },
    async swap(namespace, key, expected, next, ttlMs) {
      const done = await client.eval(SWAP, {
        keys: [rawKey(namespace, key)],
        arguments: [expected === undefined ? "0" : "1", expected ?? "", next ?? "", String(ttlMs ?? 0)],
      });
      return done === 1;
    },
    async close() {
      if (client.isReady) await client.close();
      else if (client.isOpen) client.destroy();
    },
  };
}
