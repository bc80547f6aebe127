import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { ClientRequest } from "node:http";

/**
 * Every HTTP request to one DynamoDB endpoint by X-Amz-Target, in order, per phase, seen on node:http's
 * client channel in this process: the requests the capacity and recorder benchmarks report.
 */
export class WireLog {
  phase = "none";
  private readonly log = new Map<string, string[]>();
  private readonly host: string;
  private readonly listener = (message: unknown) => {
    const request = (message as { request: ClientRequest }).request;
    if (request.getHeader("host") !== this.host) return;
    const target = String(request.getHeader("x-amz-target") ?? "?").replace(/^DynamoDB_\d+\./, "");
    const list = this.log.get(this.phase) ?? [];
    list.push(target);
    this.log.set(this.phase, list);
  };

  constructor(endpoint: string) {
    this.host = new URL(endpoint).host;
    subscribe("http.client.request.start", this.listener);
  }

  targets(phase: string): readonly string[] {
    return this.log.get(phase) ?? [];
  }

  total(phase: string): number {
    return this.targets(phase).length;
  }

  describe(phase: string, ops: number): string {
    const counts = new Map<string, number>();
    for (const target of this.targets(phase)) counts.set(target, (counts.get(target) ?? 0) + 1);
    if (counts.size === 0) return "none";
    return `${(this.total(phase) / ops).toFixed(2)} (${[...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([target, count]) => `${target} ${(count / ops).toFixed(2)}`)
      .join(", ")})`;
  }

  /** Forgets every request seen so far (after a warm-up). */
  reset(): void {
    this.log.clear();
  }

  close(): void {
    unsubscribe("http.client.request.start", this.listener);
  }
}
