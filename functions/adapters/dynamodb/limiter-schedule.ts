// When a key's driver syncs with the ledger: what its lease lets it grant and for how long, when the
// lease must be renewed, grow, shrink or be trimmed, whether a planned lease is worth a write, and when
// to read the ledger again.
import { interactiveGraceMs, type RateRule, reservedSlots } from "../../core/limiter.ts";
import type { Capacity } from "../../core/wait-queue.ts";
import type { KeyState, LeasePlanner } from "./limiter-lease.ts";
import { CLOCK_SKEW_MS, type Lease, type Ledger } from "./limiter-ledger.ts";

/** A lease is renewed when less than this many windows of it remain. */
const RENEW_WINDOWS = 2;
const GRANT_MARGIN_MS = 50;

/** The sync timing of one process's key drivers, on the ledger arithmetic of `planner`. */
export class SyncSchedule {
  constructor(private readonly planner: LeasePlanner) {}

  /** What the lease lets this process hold now (nothing when it is too short-lived to cover a call). */
  capacity(state: KeyState, rule: RateRule, now: number): Capacity {
    const lease = state.mine;
    if (!lease || lease.exp - now < this.life(state, rule)) return { total: 0, background: 0 };
    if (now >= lease.by) return { total: lease.m, background: lease.c };
    return {
      total: lease.n,
      background: lease.b,
      after: { by: lease.by, total: lease.m, background: lease.c },
    };
  }

  /** The lease life a grant needs: the call's answer (twice the usual), the window, margins. */
  private life(state: KeyState, rule: RateRule): number {
    return rule.windowMs + 2 * state.queue.service.ms + GRANT_MARGIN_MS + CLOCK_SKEW_MS;
  }

  /** Renew when less than this is left: 2 W, or sooner when grants would stop first. */
  private renewBefore(state: KeyState, rule: RateRule): number {
    return Math.max(RENEW_WINDOWS * rule.windowMs, this.life(state, rule) + rule.windowMs / 10);
  }

  /** "now" when a ledger sync is due, else when the next one will be (Infinity: none planned). */
  due(state: KeyState, rule: RateRule, now: number): "now" | number {
    const W = rule.windowMs;
    const queue = state.queue;
    const live = queue.live(now);
    if (state.mine && state.mine.exp <= now) state.mine = undefined;
    const mine = state.mine;
    if (state.failure && now < state.failure.at + W / 10) return state.failure.at + W / 10;
    let next = Number.POSITIVE_INFINITY;
    // The reserve began (interactive demand here: publish it, and plan background within R - reserve)
    // or ended (waiting background work may grow to R): plan again.
    const reserveUntil = this.planner.reserveUntil(state, rule, now);
    const reserve = now < reserveUntil;
    if (reserve !== state.plannedReserve && (reserve || queue.waiting > 0)) return "now";
    if (reserve && queue.waiting > 0) next = Math.min(next, reserveUntil);
    const inFlight = live.some((hold) => !Number.isFinite(hold.freeAt));
    // Renewal: the lease must outlive every hold, and last long enough to grant to waiters.
    if (mine) {
      const uncovered = live.some((hold) => hold.freeAt > mine.exp - CLOCK_SKEW_MS);
      if (queue.waiting > 0 || inFlight || uncovered) {
        const renewAt = uncovered && !inFlight ? now : mine.exp - this.renewBefore(state, rule);
        if (now >= renewAt) return "now";
        next = Math.min(next, renewAt);
      }
    }
    if (queue.waiting > 0) {
      // Waiters the lease cannot serve: take more when the ledger (as last read) has some to give,
      // otherwise when it next may (a published shrink or expiry), read again at most every W/2.
      if (state.ledger === undefined || now >= state.nextWantAt) return "now";
      // An interactive caller behind a background one that found nothing: the reserve may be free.
      const interactive = !queue.headIsBackground;
      if (interactive && state.wantedBackground && this.planner.takeable(state, rule, now, false) > 0)
        return "now";
      next = Math.min(next, state.nextWantAt);
    } else if (mine && !inFlight && (mine.m > 0 || mine.c > 0)) {
      // Idle: give back what no live hold needs (the rest frees as the holds end).
      const idleAt = state.busyAt + W / 2;
      if (now >= idleAt) {
        state.blind = true;
        return "now";
      }
      next = Math.min(next, idleAt);
    }
    return next;
  }

  /** After a sync that gained nothing, wait for the ledger's next change, reading again within W/2. */
  afterSync(state: KeyState, rule: RateRule, ledger: Ledger, now: number, grew: boolean): void {
    const W = rule.windowMs;
    state.wantedBackground = state.queue.headIsBackground;
    if (grew) {
      state.nextWantAt = now;
      return;
    }
    let change = now + W / 2;
    for (const [owner, lease] of ledger.leases) {
      if (owner === this.planner.owner) continue;
      if (lease.by + CLOCK_SKEW_MS > now) change = Math.min(change, lease.by + CLOCK_SKEW_MS);
      if (lease.exp + CLOCK_SKEW_MS > now) change = Math.min(change, lease.exp + CLOCK_SKEW_MS);
    }
    // The reserve ends: background waiters may take it.
    const reserveUntil = this.planner.reserveUntil(state, rule, now);
    if (reserveUntil > now && Number.isFinite(reserveUntil)) change = Math.min(change, reserveUntil);
    const reserved = reservedSlots(rule.limit, this.planner.reserve);
    // An interactive caller waits for the reserve that background leases elsewhere still hold (they
    // have not yet read its demand): look again soon, to take it the moment they publish their shrink.
    if (
      state.queue.waitingInteractive > 0 &&
      this.planner.free(state, ledger, rule, now).usedBg > rule.limit - reserved
    )
      change = Math.min(change, now + W / 10);
    // Background leases reach into the reserve (none holds): read more often, so that an interactive
    // caller in another process gets it back sooner (4 reads per W instead of 2, 1 RCU each).
    const mineBg = state.mine?.b ?? 0;
    if (
      reserved > 0 &&
      mineBg > 0 &&
      this.planner.free(state, ledger, rule, now).usedBg + mineBg > rule.limit - reserved
    )
      change = Math.min(change, now + W / 4);
    state.nextWantAt = Math.max(now + W / 50, change + 1);
  }

  /** Skips writes that change nothing the others need to know (no new capacity, no renewal due). */
  worthWriting(state: KeyState, rule: RateRule, planned: Lease | undefined, now: number): boolean {
    const mine = state.mine;
    if (!mine || !planned) return mine !== planned;
    if (planned.n !== mine.n || planned.b !== mine.b || planned.m !== mine.m || planned.c !== mine.c)
      return true;
    if (planned.by !== mine.by && planned.by > now) return true;
    if (mine.exp - now <= this.renewBefore(state, rule)) return true;
    // Interactive demand the others have not heard of (or heard of long ago): the reserve signal.
    if (planned.ia - mine.ia >= interactiveGraceMs(rule.windowMs, this.planner.graceMs) / 2) return true;
    // A want the others have not heard of (or one that is gone) changes their shares.
    return planned.want > 0 !== mine.want > 0 || planned.wantBg > 0 !== mine.wantBg > 0;
  }
}
