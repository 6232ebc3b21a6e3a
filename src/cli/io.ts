/** Where a command writes: stdout for its answer, stderr for everything else. */
export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
}

/** Pads columns to their widest cell, for tables people read. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
