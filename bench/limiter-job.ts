/**
 * What the limiter benchmark (limiter.ts), its child processes (limiter-child.ts) and its fake provider
 * (limiter-servers.ts) share: the rate under test, the provider's answer time, the key the callers draw
 * on, what a child is told and what it reports.
 */
export const R = 180;
export const W = 1000;
export const SERVICE_MS = 5;
export const KEY = "tencent:1400000000:modify_c2c_msg";

/** What a child is told (stdin, JSON). */
export interface ChildJob {
  readonly endpoint: string;
  readonly table: string;
  readonly provider: string;
  readonly callers: number;
  readonly background: number;
  readonly budgetMs: number;
  readonly backgroundBudgetMs: number;
  readonly thinkMs: number;
  readonly startAt: number;
  readonly durationMs: number;
}

/** What a child reports (stdout, one JSON line). */
export interface ChildReport {
  readonly grants: number;
  readonly late: number;
  readonly refused: number;
  readonly cancelled: number;
  readonly waitsMs: number[];
  readonly interactiveWaitsMs: number[];
  readonly interactiveRefused: number;
  readonly serviceMs: number[];
}
