/** Named counts, read out as a fresh plain object so callers can compare snapshots. */
export class Counter {
  readonly #counts = new Map<string, number>();

  bump(name: string): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + 1);
  }

  snapshot(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.#counts);
  }
}
