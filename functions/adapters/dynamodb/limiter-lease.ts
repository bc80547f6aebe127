// This process's lease on a key: the key's state here, and the arithmetic that plans the next lease
// from the ledger (what the others leave free, the interactive reserve, max-min fair shares, shrinks).
import { interactiveGraceMs, type RateRule, reservedSlots } from "../../core/limiter.ts";
import type { Hold, WaitQueue } from "../../core/wait-queue.ts";
import { CLOCK_SKEW_MS, type Lease, type Ledger } from "./limiter-ledger.ts";

export interface KeyState {
  readonly key: string;
  readonly queue: WaitQueue;
  ledger: Ledger | undefined;
  /** This process's lease as last written (undefined: none). */
  mine: Lease | undefined;
  /** Fair shares from the last sync (for the wait estimate). */
  share: number | undefined;
  shareBg: number | undefined;
  /** A sync that could not take more waits until then. */
  nextWantAt: number;
  /** Last time a caller waited or got a slot. */
  busyAt: number;
  /** Whether the ledger was never read (the first sync tries a blind create instead). */
  fresh: boolean;
  /** The head waiter of the last sync that gained nothing was background work. */
  wantedBackground: boolean;
  /** A failed sync: retried after a pause; the error answers waiters whose budget ends meanwhile. */
  failure: { readonly at: number; readonly error: unknown } | undefined;
  driving: boolean;
  /** The next sync may write on the ledger as last seen, without reading it first (an idle trim). */
  blind: boolean;
  /** When the last sync that changed nothing ran. */
  syncedAt: number | undefined;
  /** When an interactive caller of this process last asked; -Infinity: never. */
  interactiveAt: number;
  /** Whether the reserve held when the lease was last planned (a change calls for a new plan). */
  plannedReserve: boolean;
}

/** A lease lasts this many windows (renewed when less than RENEW_WINDOWS remain, limiter-schedule.ts). */
const LEASE_WINDOWS = 3;

/** The ledger arithmetic of one process (`owner`), with its interactive reserve share and grace. */
export class LeasePlanner {
  constructor(
    readonly owner: string,
    readonly reserve: number,
    readonly graceMs: number | undefined,
  ) {}

  /**
   * Until when the interactive reserve holds for this key, as this process knows it: Infinity while one
   * of its interactive callers waits, else the end of the grace after the last interactive demand here
   * or in any live lease of the ledger as last read (-Infinity: none). Background leases add up to at
   * most R - reserve while it holds, to R otherwise.
   */
  reserveUntil(state: KeyState, rule: RateRule, now: number): number {
    if (state.queue.waitingInteractive > 0) return Number.POSITIVE_INFINITY;
    const grace = interactiveGraceMs(rule.windowMs, this.graceMs);
    let until = state.interactiveAt + grace;
    for (const [owner, lease] of state.ledger?.leases ?? []) {
      if (owner === this.owner || lease.ia <= 0 || lease.exp + CLOCK_SKEW_MS <= now) continue;
      until = Math.max(until, lease.ia + grace + CLOCK_SKEW_MS);
    }
    return until;
  }

  /** What background leases may add up to now: R, or R - reserve while the reserve holds. */
  limitBg(state: KeyState, rule: RateRule, now: number): number {
    const holds = now < this.reserveUntil(state, rule, now);
    return rule.limit - (holds ? reservedSlots(rule.limit, this.reserve) : 0);
  }

  /** Capacity the last read ledger leaves free beyond this process's lease, for the head waiter. */
  takeable(state: KeyState, rule: RateRule, now: number, background: boolean): number {
    const ledger = state.ledger;
    if (!ledger) return 0;
    const { free, freeBg } = this.free(state, ledger, rule, now);
    const lease = state.mine;
    const have = lease ? (now >= lease.by ? lease.m : lease.n) : 0;
    const haveBg = lease ? (now >= lease.by ? lease.c : lease.b) : 0;
    return background ? Math.min(free - have, freeBg - haveBg) : free - have;
  }

  /** Capacity not leased by the other processes at `now` (and from then on: leases only shrink). */
  free(
    state: KeyState,
    ledger: Ledger,
    rule: RateRule,
    now: number,
  ): { free: number; freeBg: number; usedBg: number } {
    let used = 0;
    let usedBg = 0;
    for (const [owner, lease] of ledger.leases) {
      if (owner === this.owner || lease.exp + CLOCK_SKEW_MS <= now) continue;
      const shrunk = now >= lease.by + CLOCK_SKEW_MS;
      used += shrunk ? lease.m : lease.n;
      usedBg += shrunk ? lease.c : lease.b;
    }
    const limitBg = this.limitBg(state, rule, now);
    return { free: Math.max(0, rule.limit - used), freeBg: Math.max(0, limitBg - usedBg), usedBg };
  }

  /**
   * This process's next lease: its demand (live holds + waiters + a block, or only the calls in flight
   * once idle), shared max-min fairly with the others' demands, within what they leave free.
   */
  plan(state: KeyState, rule: RateRule, ledger: Ledger, now: number): Lease | undefined {
    const W = rule.windowMs;
    const queue = state.queue;
    const live = queue.live(now);
    const { free, freeBg } = this.free(state, ledger, rule, now);
    const reserveUntil = this.reserveUntil(state, rule, now);
    state.plannedReserve = now < reserveUntil;
    const limitBg = this.limitBg(state, rule, now);
    // This process's interactive demand, published while its grace runs: the others' reserve signal.
    const grace = interactiveGraceMs(W, this.graceMs);
    if (queue.waitingInteractive > 0) state.interactiveAt = now;
    const ia = now < state.interactiveAt + grace ? state.interactiveAt : 0;
    const waiting = queue.waiting;
    const waitingBg = waiting - queue.waitingInteractive;
    const inFlight = live.filter((hold) => !Number.isFinite(hold.freeAt));
    const liveBg = live.filter((hold) => hold.background).length;
    const idle = waiting === 0 && now - state.busyAt >= W / 2;
    // A block beyond the immediate need, so one write serves several grants.
    const block = Math.floor(rule.limit / 16);
    const current = state.mine;
    const demand = idle
      ? inFlight.length
      : Math.max(live.length + waiting + (waiting > 0 ? block : 0), current?.m ?? 0);
    const demandBg = idle
      ? inFlight.filter((hold) => hold.background).length
      : Math.max(liveBg + waitingBg + (waitingBg > 0 ? block : 0), current?.c ?? 0);
    const others = [...ledger.leases].filter(([owner, lease]) => owner !== this.owner && lease.exp > now);
    const share = fairShare(
      rule.limit,
      others.map(([, lease]) => lease.m + lease.want),
      demand,
    );
    const shareBg = fairShare(
      limitBg,
      others.map(([, lease]) => lease.c + lease.wantBg),
      demandBg,
    );
    // What this process could get were it busier: the wait estimate's rate.
    state.share = fairShare(
      rule.limit,
      others.map(([, lease]) => lease.m + lease.want),
      rule.limit,
    );
    state.shareBg = fairShare(
      limitBg,
      others.map(([, lease]) => lease.c + lease.wantBg),
      limitBg,
    );
    // Interactive waiters may take any free capacity they need now (the reserve among it), fair or not.
    const urgent = queue.waitingInteractive > 0 ? Math.min(free, live.length + queue.waitingInteractive) : 0;
    const backgroundTarget = Math.min(freeBg, shareBg);
    // Capacity background callers cannot use stays out of the lease: the reserve is not stranded in a
    // process that has only background work.
    const interactiveUse = live.length - liveBg + queue.waitingInteractive;
    const interactiveNeed = interactiveUse + (interactiveUse > 0 ? block : 0);
    const totalTarget = Math.min(Math.max(Math.min(free, share), urgent), backgroundTarget + interactiveNeed);
    const total = shrinkPlan(live, totalTarget, now, () => true);
    const background = shrinkPlan(live, backgroundTarget, now, (hold) => hold.background);
    // Never more than the others leave (the holds fit in it already: the old lease was counted).
    const n = Math.min(total.now, free);
    const b = Math.min(background.now, freeBg);
    if (n === 0 && b === 0 && live.length === 0 && waiting === 0 && ia === 0) return undefined;
    const by = Math.max(total.by, background.by);
    return {
      n,
      b,
      m: by > now ? total.later : n,
      c: by > now ? background.later : b,
      by: by > now ? by : 0,
      exp: now + LEASE_WINDOWS * W,
      want: Math.max(0, demand - total.later),
      wantBg: Math.max(0, demandBg - background.later),
      ia,
    };
  }
}

/**
 * Max-min fair share of `capacity` for a demand of `mine` beside the others' demands: demands below the
 * level are met, the rest get the level (rounded up: the free capacity bounds the lease anyway).
 */
export function fairShare(capacity: number, others: readonly number[], mine: number): number {
  const demands = [...others, mine].sort((a, b) => a - b);
  let left = capacity;
  let count = demands.length;
  for (const demand of demands) {
    const level = left / count;
    if (demand > level) return Math.min(mine, Math.ceil(level));
    left -= demand;
    count--;
  }
  return mine;
}

/**
 * A lease of `target` for the holds selected by `counted`: at once when they fit in it; otherwise the
 * live ones are kept now and `target` holds at most remain after `by`, the moment enough of them end
 * (those in flight never end in this plan, so the target is at least their number).
 */
function shrinkPlan(
  live: readonly Hold[],
  target: number,
  now: number,
  counted: (hold: Hold) => boolean,
): { now: number; later: number; by: number } {
  const holds = live.filter(counted);
  if (target >= holds.length) return { now: target, later: target, by: now };
  const ends = holds
    .map((hold) => hold.freeAt)
    .filter((end) => Number.isFinite(end))
    .sort((a, b) => b - a);
  const inFlight = holds.length - ends.length;
  const later = Math.max(target, inFlight);
  // After the (later - inFlight) latest ends, the rest have ended.
  const by = ends[later - inFlight] ?? now;
  return { now: holds.length, later, by };
}
