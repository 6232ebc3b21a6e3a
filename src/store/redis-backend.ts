import KeyvRedis, { createClient } from "@keyv/redis";
import Keyv from "keyv";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import { type Backend, keyvFormat } from "./backend.js";
import { displayUrl } from "./display-url.js";

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
  const shown = displayUrl(url);
  // Said once per outage, not once per reconnection attempt.
  let down = false;
  client.on("error", (error: unknown) => {
    if (down) return;
    down = true;
    logger.warn(
      `store ${shown}: ${errorMessage(error)}; answering without it (as cache misses) until it is back`,
    );
  });
  client.on("ready", () => {
    // From then on a command while Redis is away fails at once rather than waiting for a reconnection.
    client.options.disableOfflineQueue = true;
    if (down) logger.info(`store ${shown}: connected again`);
    down = false;
  });
  // Errors are said by the listener above; commands fail fast until it connects.
  void client.connect().catch(() => {});
  // keyv's own key scheme: `<namespace>:<key>`, which KeyvRedis prefixes with its namespace and "::".
  const keyvNamespace = (namespace: string) => `skillsmith:${namespace}`;
  const rawKey = (namespace: string, key: string) =>
    `${keyvNamespace(namespace)}::${keyvNamespace(namespace)}:${key}`;

  // Pub/sub needs a connection of its own; made at the first subscription, resubscribed by the client on reconnect.
  let subscriber: ReturnType<typeof client.duplicate> | undefined;
  const subscriberClient = () => {
    if (!subscriber) {
      subscriber = client.duplicate({ disableOfflineQueue: false });
      // The main client says when Redis is away; this one would say it a second time.
      subscriber.on("error", () => {});
      void subscriber.connect().catch(() => {});
    }
    return subscriber;
  };
  const channelOf = (channel: string) => `skillsmith:${channel}`;

  return {
    async publish(channel, message) {
      await client.publish(channelOf(channel), message);
    },
    subscribe(channel, listener, onReady) {
      const sub = subscriberClient();
      const ready = () => onReady?.();
      sub.on("ready", ready);
      const subscribed = sub.subscribe(channelOf(channel), listener).catch((error: unknown) => {
        logger.warn(`store ${shown}: could not subscribe to ${channel}: ${errorMessage(error)}`);
      });
      // Also once subscribed: a "ready" before that may have been followed by a message sent before the SUBSCRIBE.
      void subscribed.then(ready);
      return () => {
        sub.off("ready", ready);
        if (sub.isReady) void sub.unsubscribe(channelOf(channel), listener).catch(() => {});
      };
    },
    // Redis bounds itself: cached entries have their TTL, the operator's maxmemory policy holds the rest (never an
    // allkeys-* one: skills carry no TTL).
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
    async ping() {
      await client.ping();
    },
    async close() {
      for (const open of subscriber ? [subscriber, client] : [client]) {
        if (open.isReady) await open.close();
        else if (open.isOpen) open.destroy();
      }
    },
  };
}
