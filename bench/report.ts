/**
 * The shape every benchmark returns, and how `npm run bench` prints it. A benchmark reports figures;
 * a row with a goal gets PASS/FAIL, but missing a goal never fails the run.
 */
export interface Goal {
  /** `value op limit` meets the goal (">=" for floors such as an achieved rate). */
  readonly op: "<" | "<=" | ">=";
  readonly limit: number;
}

export interface Row {
  readonly metric: string;
  readonly value: number | string;
  /** Printed after the value ("ms", "req/s", "x"). */
  readonly unit?: string;
  /** Digits after the point for numeric values (default 2). */
  readonly digits?: number;
  readonly goal?: Goal;
  /**
   * The row's name in the summary table (e.g. the issue's measure); default `<benchmark>: <metric>`.
   * A row without a goal is in the summary only when it has one (a figure reported beside the goals).
   */
  readonly summary?: string;
}

export interface BenchmarkResult {
  readonly title: string;
  readonly rows: readonly Row[];
  readonly notes?: readonly string[];
}

export interface Benchmark {
  /** Short name; `npm run bench -- <name>` runs only the benchmarks whose name contains it. */
  readonly name: string;
  run(): Promise<BenchmarkResult>;
}

export function meets(value: number, goal: Goal): boolean {
  switch (goal.op) {
    case "<":
      return value < goal.limit;
    case "<=":
      return value <= goal.limit;
    case ">=":
      return value >= goal.limit;
  }
}

export function status(row: Row): "PASS" | "FAIL" | undefined {
  if (row.goal === undefined) return undefined;
  return typeof row.value === "number" && meets(row.value, row.goal) ? "PASS" : "FAIL";
}

function formatValue(row: Row): string {
  const value = typeof row.value === "number" ? row.value.toFixed(row.digits ?? 2) : row.value;
  return row.unit === undefined ? value : `${value} ${row.unit}`;
}

const formatGoal = (row: Row): string =>
  row.goal === undefined
    ? ""
    : `${row.goal.op} ${row.goal.limit}${row.unit === "x" ? "x" : ` ${row.unit ?? ""}`}`;

export function formatResult(name: string, result: BenchmarkResult): string {
  const table = result.rows.map((row) => [row.metric, formatValue(row), formatGoal(row), status(row) ?? ""]);
  const widths = [0, 1, 2].map((column) => Math.max(...table.map((cells) => (cells[column] ?? "").length)));
  const lines = [`== ${name}: ${result.title}`];
  for (const [metric = "", value = "", goal = "", verdict = ""] of table) {
    const cells = [metric.padEnd(widths[0] ?? 0), value.padStart(widths[1] ?? 0)];
    if (goal !== "") cells.push(`goal ${goal.padEnd(widths[2] ?? 0)}`, verdict);
    lines.push(`  ${cells.join("  ").trimEnd()}`);
  }
  for (const note of result.notes ?? []) lines.push(`  - ${note}`);
  return `${lines.join("\n")}\n`;
}

const SYMBOLS: Readonly<Record<Goal["op"], string>> = { "<": "<", "<=": "≤", ">=": "≥" };

/** `≤ 3 WRU`, `≥ 0.95 x`: a goal for the summary table. */
function summaryGoal(row: Row): string {
  if (row.goal === undefined) return "";
  const unit = row.unit === undefined ? "" : row.unit === "x" ? "×" : ` ${row.unit}`;
  return `${SYMBOLS[row.goal.op]} ${row.goal.limit}${unit}`;
}

function summaryValue(row: Row): string {
  const value = typeof row.value === "number" ? row.value.toFixed(row.digits ?? 2) : row.value;
  if (row.unit === undefined) return value;
  return row.unit === "x" ? `${value}×` : `${value} ${row.unit}`;
}

/**
 * Every row with a goal across all benchmarks (and the figures marked for it), as a Markdown table the
 * README can paste: measure | figure | goal | PASS/FAIL. A benchmark that crashed gets a FAIL row.
 */
export function formatSummary(
  results: ReadonlyArray<{ name: string; result: BenchmarkResult }>,
  crashed: readonly string[] = [],
): string {
  const cell = (text: string) => text.replaceAll("|", "\\|");
  const lines = ["== summary", "", "| measure | figure | goal | PASS/FAIL |", "|---|---|---|---|"];
  for (const { name, result } of results) {
    for (const row of result.rows) {
      const verdict = status(row);
      if (verdict === undefined && row.summary === undefined) continue;
      const measure = row.summary ?? `${name}: ${row.metric}`;
      lines.push(
        `| ${cell(measure)} | ${cell(summaryValue(row))} | ${cell(summaryGoal(row)) || "—"} | ${verdict ?? "—"} |`,
      );
    }
  }
  for (const name of crashed) lines.push(`| ${cell(name)} | crashed | runs to the end | FAIL |`);
  return `${lines.join("\n")}\n`;
}
