import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerStatus } from "../../src/downstream/connection.js";
import { removeDir, startGateway, type TestGateway, tempDir, textOf } from "../helpers/gateway.js";
import { fixtureEntry } from "../helpers/processes.js";

const LIMIT = 1024 * 1024;

/** A stdio server whose answers may be larger than its configured `maxMessageBytes` (1 MB here). */
describe("a stdio answer over the server's maxMessageBytes", () => {
  let dir: string;
  let t: TestGateway;

  beforeAll(async () => {
    dir = await tempDir();
    t = await startGateway(
      {
        mcpServers: { bulky: fixtureEntry("bulky-server") },
        skillsmith: { store: "memory:", servers: { bulky: { maxMessageBytes: LIMIT } } },
      },
      dir,
    );
  });
  afterAll(async () => {
    await t?.close();
    await removeDir(dir);
  });

  const status = (): ServerStatus | undefined => t.gateway.status().find((s) => s.name === "bulky");

  it("fails that call naming the limit and the setting, while a call in flight and the next call succeed", async () => {
    expect(status()).toMatchObject({ state: "ready", attempts: 1 });
    // Longer than the 2 s a closing connection gives its server: a dropped connection would fail it.
    const inFlight = t.gateway.pool.call("bulky", "sleep", { ms: 3000 });
    const huge = await t.gateway.pool.call("bulky", "big", { bytes: 12 * LIMIT }).catch((e: unknown) => e);
    expect(huge).toMatchObject({ code: "CALL_FAILED", data: { tool: "bulky.big" } });
    const message = (huge as Error).message;
    expect(message).toContain(`${LIMIT} bytes`);
    expect(message).toContain("skillsmith.servers.bulky.maxMessageBytes");
    expect(textOf(await inFlight)).toBe("awake");
    expect(textOf(await t.gateway.pool.call("bulky", "ping", {}))).toBe("pong");
    expect(status()).toMatchObject({ state: "ready", attempts: 1 });
  });

  it("passes an answer just under the limit whole", async () => {
    const bytes = LIMIT - 1000;
    const result = await t.gateway.pool.call("bulky", "big", { bytes });
    expect(textOf(result)).toHaveLength(bytes);
  });

  it("fails several oversized answers in a row, each alone", async () => {
    const results = await Promise.allSettled([
      t.gateway.pool.call("bulky", "big", { bytes: 2 * LIMIT }),
      t.gateway.pool.call("bulky", "ping", {}),
      t.gateway.pool.call("bulky", "big", { bytes: 3 * LIMIT }),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "rejected"]);
    expect(status()).toMatchObject({ state: "ready", attempts: 1 });
  });
});
