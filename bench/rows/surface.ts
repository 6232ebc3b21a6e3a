import { mkdtemp } from "node:fs/promises";
import path from "node:path";
import { gatewayConfig, listDirect, openGateway } from "../clients.js";
import { realServers, type ServerEntry, startHttpFixture } from "../fixtures.js";
import { type BenchContext, compare, type Row, type RowGroup } from "../report.js";
import { tokens } from "../stats.js";

export interface SurfaceFigures {
  /** Tokens of the JSON of Skillsmith's tools/list while it fronts the servers. */
  skillsmith: number;
  /** Tokens of the JSON of every downstream tool definition, as the servers list them. */
  downstream: number;
  /** Tools the gateway's catalog holds (should equal `downstreamTools`). */
  catalogTools: number;
  downstreamTools: number;
}

/** Skillsmith's tools/list against the union of the downstream definitions, for one set of servers. */
export async function measureSurface(
  servers: Record<string, ServerEntry>,
  dir: string,
): Promise<SurfaceFigures> {
  // Only sizes are measured here, not times, so the direct listing and the gateway's start may overlap.
  const [listed, opened] = await Promise.allSettled([
    listDirect(servers),
    openGateway(gatewayConfig(servers, dir), dir),
  ]);
  if (opened.status === "rejected") throw opened.reason;
  const open = opened.value;
  try {
    if (listed.status === "rejected") throw listed.reason;
    const union = listed.value.flat();
    const { tools } = await open.client.listTools();
    return {
      skillsmith: tokens(JSON.stringify(tools)),
      downstream: tokens(JSON.stringify(union)),
      catalogTools: open.gateway.catalog.tools().length,
      downstreamTools: union.length,
    };
  } finally {
    await open.close();
  }
}

function row(what: string, figures: SurfaceFigures): Row {
  const seen =
    figures.catalogTools === figures.downstreamTools
      ? ""
      : ` — gateway saw only ${figures.catalogTools} of ${figures.downstreamTools} tools`;
  return compare(
    "1 Surface",
    `tools/list tokens, ${what}`,
    figures.skillsmith,
    figures.downstream,
    "tokens",
    `lower is better; baseline = all ${figures.downstreamTools.toLocaleString("en-US")} definitions${seen}`,
  );
}

export const surface: RowGroup = {
  name: "surface",
  async run(context: BenchContext) {
    const rows: Row[] = [];
    const dir = (name: string) => mkdtemp(path.join(context.tmp, `surface-${name}-`));
    const realDir = await dir("real");
    rows.push(row("3 real servers", await measureSurface(await realServers(realDir), realDir)));
    for (const limit of [1_000, 10_000]) {
      const fixture = await startHttpFixture(context.root, ["--limit", String(limit)]);
      try {
        const figures = await measureSurface(fixture.entries(), await dir(String(limit)));
        rows.push(
          row(
            `${limit.toLocaleString("en-US")} registry tools (${fixture.servers.length.toLocaleString("en-US")} servers)`,
            figures,
          ),
        );
      } finally {
        await fixture.stop();
      }
      context.log(`surface: ${limit} tools done`);
    }
    return rows;
  },
};
