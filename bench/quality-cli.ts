/**
 * Prints search quality: node --import tsx bench/quality-cli.ts [--per-query] [--ablation] [--split-half] [--learning] [--speed]
 * Skillsmith vs plain BM25 on the LiveMCPBench development queries, and the ratio; optionally each query,
 * the ablation of every ranking change, a split-half check of the tuned weights, and speed at 10,000 tools.
 */
import {
  ablation,
  floodCheck,
  learningSplitHalf,
  measureQuality,
  measureSearchSpeed,
  type QueryScore,
  splitHalf,
} from "./quality.js";

const flags = new Set(process.argv.slice(2));
const f3 = (n: number) => n.toFixed(3);

const report = await measureQuality();
const fmt = (s: QueryScore) => `nDCG@10 ${f3(s.ndcg10)}  R@5 ${f3(s.recall5)}  R@10 ${f3(s.recall10)}`;
console.log(`${report.queries} queries over ${report.tools} tools of ${report.servers} servers`);
console.log(`skillsmith   ${fmt(report.skillsmith)}`);
console.log(`plain BM25   ${fmt(report.baseline)}`);
console.log(
  `ratio        nDCG@10 ${report.ratio.ndcg10.toFixed(2)}×  R@5 ${report.ratio.recall5.toFixed(2)}×  R@10 ${report.ratio.recall10.toFixed(2)}×`,
);

if (flags.has("--per-query")) {
  report.perQuery.skillsmith.forEach((q, i) => {
    const base = report.perQuery.baseline[i];
    console.log(
      `\n${q.ndcg10.toFixed(2)} (bm25 ${base?.ndcg10.toFixed(2)})  ${q.query.slice(0, 100)}\n  gold: ${q.gold.join(", ")}\n  top:  ${q.top.join(", ")}`,
    );
  });
}

if (flags.has("--ablation")) {
  const { shipped, rows } = await ablation();
  console.log(
    `\nablation: nDCG@10 with / without each change (all else as shipped; halves A, B = even, odd queries)`,
  );
  console.log(`shipped: all ${f3(shipped.all)}  A ${f3(shipped.a)}  B ${f3(shipped.b)}`);
  console.log(
    `${"change".padEnd(42)} ${"kept".padEnd(5)} ${"with".padStart(6)} ${"without".padStart(8)} ${"Δ all".padStart(7)} ${"Δ A".padStart(7)} ${"Δ B".padStart(7)}`,
  );
  for (const r of rows) {
    const d = (k: "all" | "a" | "b") =>
      (r.with[k] - r.without[k] >= 0 ? "+" : "") + f3(r.with[k] - r.without[k]);
    console.log(
      `${r.change.padEnd(42)} ${(r.kept ? "yes" : "no").padEnd(5)} ${f3(r.with.all).padStart(6)} ${f3(r.without.all).padStart(8)} ${d("all").padStart(7)} ${d("a").padStart(7)} ${d("b").padStart(7)}`,
    );
  }
}

if (flags.has("--split-half")) {
  console.log("\nsplit-half: weights tuned on one half (grid), reported on the other");
  for (const r of await splitHalf()) {
    const held = r.tunedOn === "A" ? "B" : "A";
    console.log(
      `tuned on ${r.tunedOn}: serverBlend ${r.chosen.serverBlend}, nameCoverage ${r.chosen.nameCoverage}, idfPower ${r.chosen.idfPower}` +
        ` → ${r.tunedOn} ${f3(r.tuned)}; held-out ${held} ${f3(r.heldOut)} (shipped ${f3(r.shippedHeldOut)}, plain BM25 ${f3(r.baselineHeldOut)})`,
    );
  }
}

if (flags.has("--speed")) {
  const s = await measureSearchSpeed(10_000);
  console.log(
    `\nspeed: ${s.tools} tools on ${s.servers} servers: build ${s.buildMs.toFixed(0)} ms, search p50 ${s.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms`,
  );
}

if (flags.has("--learning")) {
  console.log(
    "\nlearning: one half replayed as traffic (search, then a probe of each gold tool), the other half scored",
  );
  for (const r of await learningSplitHalf()) {
    console.log(
      `traffic ${r.traffic}, scored ${r.scored}: without ${fmt(r.without)}\n                       with    ${fmt(r.with)}`,
    );
  }
  const f = await floodCheck();
  console.log(
    `flood: "${f.query.slice(0, 60)}…" ×${f.floods} credited to ${f.tools.join(", ")}: ` +
      `${f.unrelatedChanged} of ${f.unrelated} queries sharing no word with it changed their top 10; ` +
      `${f.changed} of ${f.others} in all; nDCG@10 of the others ${f3(f.ndcgBefore)} → ${f3(f.ndcgAfter)}`,
  );
}
