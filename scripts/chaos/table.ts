import type { Row } from "./measure.ts";

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const ms = (value: number) => (Number.isNaN(value) ? "-" : `${Math.round(value)}`);

export const HEADER = [
  "scenario",
  "turns",
  "one terminal",
  "user stored",
  "partial stored+marked",
  "answer bytes lost",
  "terminal p50/max ms",
  "restarts",
  "endings",
];

export function cells(row: Row): string[] {
  return [
    row.scenario,
    String(row.attempted),
    String(row.oneTerminal),
    String(row.userStored),
    `${row.partialMarked}/${row.unfinished}`,
    String(row.bytesLost),
    `${ms(percentile(row.terminalMs, 50))}/${ms(percentile(row.terminalMs, 100))}`,
    String(row.restarts),
    Object.entries(row.endings)
      .map(([ending, count]) => `${count} ${ending}`)
      .join(", "),
  ];
}

/** A Markdown table (it reads as well in a terminal as in RELIABILITY.md). */
export function markdownTable(rows: Row[]): string {
  const lines = [HEADER, HEADER.map(() => "---"), ...rows.map(cells)];
  return lines.map((line) => `| ${line.join(" | ")} |`).join("\n");
}
