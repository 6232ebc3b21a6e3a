// Example skill: add many pairs of numbers with everything.get-sum, several calls in flight at once.
// everything.get-sum answers a sentence, not JSON (checked with probe_tool): "The sum of 2 and 3 is 5."
// so the number is read from the end of it, and anything else is an error worth stopping for.

const SUM = /is (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\.$/i;

export default async function run(input, { call, step, parallel, log }) {
  const sums = await step("add each pair", () =>
    parallel(
      input.pairs,
      async ([a, b]) => {
        const text = await call("everything.get-sum", { a, b });
        const match = SUM.exec(text.trim());
        if (!match) throw new Error(`everything.get-sum answered in an unexpected form: ${text}`);
        return Number(match[1]);
      },
      { concurrency: input.concurrency ?? 4 },
    ),
  );
  // parallel keeps the input's order, so sums[i] belongs to pairs[i] whichever call finished first.
  // The total needs no tool and no step: plain code in the sandbox, nothing to record or replay.
  const total = sums.reduce((sum, n) => sum + n, 0);
  log(`${sums.length} pairs, total ${total}`);
  return { sums, total };
}
