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

/** One line per goal across all benchmarks. */
export function formatSummary(results: ReadonlyArray<{ name: string; result: BenchmarkResult }>): string {
  const lines = ["== summary"];
  for (const { name, result } of results) {
    for (const row of result.rows) {
      const verdict = status(row);
      if (verdict !== undefined)
        lines.push(`  ${verdict}  ${name}: ${row.metric} = ${formatValue(row)} (goal ${formatGoal(row)})`);
    }
  }
  return `${lines.join("\n")}\n`;
}
