import { missing, type RowGroup } from "../report.js";

/**
 * Rows that need skills (save_skill / run_skill). When skills land, measure here, in the same run as the baseline:
 * - 4: everything.echo called by a skill through run_skill, against a direct SDK client (p50, p99);
 * - 5: cold and warm run_skill overhead over the calls the skill makes;
 * - 5: N overlapping slow calls in `parallel` against the same calls in sequence (speedup).
 */
export const skills: RowGroup = {
  name: "skills",
  async run() {
    const why = "skills not landed";
    return [
      missing("4 Call overhead", "everything.echo p50, via a skill (run_skill) vs direct", why),
      missing("5 Skills", "cold run_skill overhead over its calls", why),
      missing("5 Skills", "warm run_skill overhead over its calls", why),
      missing("5 Skills", "N overlapping slow calls: parallel vs sequential", why),
    ];
  },
};
