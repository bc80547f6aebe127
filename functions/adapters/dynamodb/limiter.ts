import { randomUUID } from "node:crypto";
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { grantDeadline, refusal, retryAfterSeconds, slotWaitMs } from "../../core/admission.ts";
import { TooManyRequestsError } from "../../core/errors.ts";
import {
  type Clock,
  currentWork,
  DEFAULT_INTERACTIVE_RESERVE,
  interactiveGraceMs,
  type RateLimiter,
  type RateRule,
  type RateSlot,
  reservedSlots,
  systemClock,
} from "../../core/limiter.ts";
import { type Capacity, cancelled, type Hold, WaitQueue } from "../../core/wait-queue.ts";
import { conditionally, guard } from "./calls.ts";
import { TABLE } from "./table.ts";

export interface DynamoLimiterOptions {
  readonly clock?: Clock;
  /**
   * The share of each key's rate background work leaves free while interactive demand is present or
   * recent in any process (INTERACTIVE_RESERVE; default 0.05).
   */
  readonly interactiveReserve?: number;
  /** How long the reserve holds after the last interactive demand (default max(2 s, 2 W)). */
  readonly interactiveGraceMs?: number;
  /** A call unanswered this long counts as lost: its slot is no longer renewed (default 60 s). */
  readonly maxHoldMs?: number;
  /** This process's name in the ledgers (default random). */
  readonly owner?: string;
}

/** A process's lease as stored: `[n, b, m, c, by, exp, want, wantBg, ia]`. */
interface Lease {
  readonly n: number;
  readonly b: number;
  readonly m: number;
  readonly c: number;
  readonly by: number;
  readonly exp: number;
  readonly want: number;
  readonly wantBg: number;
  /** When its process last had interactive demand (epoch ms), 0: none within the grace. */
  readonly ia: number;
}

interface Ledger {
  /** The item's version; 0: no item. */
  readonly version: number;
  readonly leases: ReadonlyMap<string, Lease>;
  readonly readAt: number;
}

interface KeyState {
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

const LEDGER_SK = "LEDGER";
/** Margin for clock differences between processes, on the others' `by` and `exp`. */
const CLOCK_SKEW_MS = 20;
/** A lease lasts this many windows and is renewed when less than RENEW_WINDOWS remain. */
const LEASE_WINDOWS = 3;
const RENEW_WINDOWS = 2;
const GRANT_MARGIN_MS = 50;
const MAX_IDLE_KEYS = 10_000;

/**
 * The rate contract shared by every process (every warm Lambda, queued and API edits alike), as leases.
 *
 * A key's capacity (R slots, each held from a call's send until its answer + W) lives in one ledger
 * item, `RATE#<key>` / `LEDGER`: per process, a lease `[n, b, m, c, by, exp, want, wantBg, ia]`: up to
 * `n` holds live now, `b` of them background; from `by` on at most `m` / `c` (a shrink promised to the
 * others); nothing after `exp`; `ia`: its interactive demand (below). A process takes a block of
 * capacity in one conditional write (on the item's version) and hands it out to its callers locally,
 * exactly like SlidingWindowLimiter: grants, releases and waits cost no store call. Every writer keeps,
 * for all times from its write on, Σ leases ≤ R (each lease only shrinks over time, so checking at the
 * write is enough; background parts also sum to at most R − reserve while the reserve holds), and a
 * process's live holds never exceed its lease, so at most R calls are held at any moment across
 * processes, whichever process sent them.
 *
 * Sharing: each lease carries its owner's unmet demand (`want`); writers size their lease by max-min
 * fairness over everyone's demand, so busy processes converge to R / processes each. A process above
 * its share stops granting beyond it and publishes when its extra holds end (`by`): the others take
 * that capacity at that moment without another write from it. Waiters sleep until the next expected
 * free capacity: a local hold's end, a published `by` or `exp`, or (when the ledger promises nothing)
 * a fresh read at most every W/2 per process, never per caller.
 *
 * Expiry instead of release: a lease lasts 3 W and is renewed (every W while busy); an idle process
 * trims its lease to what its live holds need, freeing the rest as they end. A crashed process, a
 * frozen Lambda or a failed (throttled) write frees its capacity by itself within 3 W, never 60 s.
 *
 * Cost (R = 180/s, W = 1 s): the item holds one lease per live process, ~60 bytes each (260 bytes
 * with 4 processes), under 1 KB: a consistent read is 1 RCU, a write 1 WCU. A busy process reads at
 * most every W/2 (when it wants more) and renews once per W (read + write): a few reads and 1-2 writes
 * per second per process, whether 16 or 64 callers wait (callers never touch the store). Arithmetic
 * for 4 busy processes: ≤ 4 × (2 + 2) reads ≈ 16 RCU/s and ≤ 4 × 2 writes ≈ 8 WCU/s for 180 grants/s,
 * ~0.1 store calls per grant; `npm run bench -- limiter` measures 0.03-0.16 calls per grant and a
 * peak second of 28 RCU / 28 WCU on the key (mean ~10 / ~7), against 3,000 RCU and 1,000 WCU per
 * partition. The previous design read all R slot items per acquire (~22 KB, 6 RCU) and raced for freed
 * slots (2-5 failed puts per grant). A per-message key (Yunxin, R = 1) costs a blind create and, once
 * idle, a trim: 2 writes per edit.
 *
 * Priority (INTERACTIVE_RESERVE, default 0.05), a dynamic reserve: each lease also carries `ia`, when
 * its process last had interactive demand (a caller asked or waited), written with the lease (a process
 * with interactive demand writes to get capacity anyway). While some live lease's `ia` (or this
 * process's own) is within the grace (default max(2 s, 2 W)), background parts of the leases sum to at
 * most R - floor(R × share) (171 of 180: 9 slots, ~9 interactive edits per second, stay free);
 * otherwise background work may lease all R, so a bulk job alone runs at the full rate. An interactive
 * caller arriving while another process's job holds all R waits until that process reads the ledger
 * (every W/4 while its background lease reaches into the reserve and it has waiters), publishes its
 * shrink and its extra holds end (the earliest ends: ~reserve / R × W with calls spread over the
 * window; up to one slot cycle when the job's holds end together), while the waiting process reads
 * again every W/10: ~100 ms in the integration test, p50 83 ms and max 730 ms in `npm run bench --
 * limiter`, inside the default 5 s wait budget. Later interactive callers find the reserve free (one read and one write).
 * A process with only background work leases no more than its background part (the reserve is not
 * stranded there), interactive waiters may take any free capacity at once, fair share or not, and
 * background callers queue behind interactive ones in their process; a cancelled background caller
 * gets CancelledError and no slot.
 *
 * Limits of the scheme: processes compare times (`by`, `exp`) across machines, with a 20 ms margin for
 * clock skew; a call still unanswered when its lease cannot be renewed (the store is down for 2 W) may
 * outlive the lease.
 */
export class DynamoRateLimiter implements RateLimiter {
  private readonly keys = new Map<string, KeyState>();
  private readonly clock: Clock;
  private readonly reserve: number;
  private readonly graceMs: number | undefined;
  private readonly maxHoldMs: number;
  private readonly owner: string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly rule: (key: string) => RateRule,
    options: DynamoLimiterOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.reserve = options.interactiveReserve ?? DEFAULT_INTERACTIVE_RESERVE;
    this.graceMs = options.interactiveGraceMs;
    this.maxHoldMs = options.maxHoldMs ?? 60_000;
    this.owner = options.owner ?? randomUUID().slice(0, 13);
  }

  async acquire(key: string, maxWaitMs: number): Promise<RateSlot> {
    const work = currentWork();
    const background = work.priority === "background";
    if (work.signal?.aborted) throw cancelled(key);
    const now = this.clock.now();
    if (this.keys.size > MAX_IDLE_KEYS) this.prune(now);
    const state = this.state(key);
    if (!background) {
      // A new interactive caller where the ledger as last read leaves capacity free (the reserve kept
      // for it): take it now rather than at the next planned read.
      const rule = this.rule(key);
      if (state.queue.waitingInteractive === 0 && this.takeable(state, rule, now, false) > 0) {
        state.nextWantAt = Math.min(state.nextWantAt, now);
      }
      // Interactive demand: published in this process's lease at its next write (the reserve signal).
      state.interactiveAt = now;
    }
    // Refused at once when even this process's whole share cannot serve the caller in time.
    const wait = this.estimateWaitMs(state, now, background, state.queue.ahead(background));
    // Refused at once when its slot is not expected by its grant deadline (a hair inside the budget).
    if (now + wait + state.queue.service.ms > grantDeadline(now, maxWaitMs)) {
      throw refusal(key, this.rule(key), wait, maxWaitMs);
    }
    const slot = state.queue.enqueue(background, grantDeadline(now, maxWaitMs), work.signal);
    void this.drive(state);
    return slot;
  }

  private estimateWaitMs(state: KeyState, now: number, background: boolean, ahead: number): number {
    const { limit, windowMs } = this.rule(state.key);
    const share = background
      ? (state.shareBg ?? this.limitBg(state, { limit, windowMs }, now))
      : (state.share ?? limit);
    return slotWaitMs(
      now,
      { limit: Math.max(1, share), windowMs },
      state.queue.live(now),
      ahead,
      state.queue.service.ms,
    );
  }

  private state(key: string): KeyState {
    let state = this.keys.get(key);
    if (!state) {
      const created: KeyState = {
        key,
        queue: new WaitQueue(key, this.clock, this.maxHoldMs, () => void this.drive(created)),
        ledger: undefined,
        mine: undefined,
        share: undefined,
        shareBg: undefined,
        nextWantAt: 0,
        busyAt: 0,
        fresh: true,
        wantedBackground: false,
        failure: undefined,
        driving: false,
        blind: false,
        syncedAt: undefined,
        interactiveAt: Number.NEGATIVE_INFINITY,
        plannedReserve: false,
      };
      state = created;
      this.keys.set(key, state);
    }
    return state;
  }

  private prune(now: number): void {
    for (const [key, state] of this.keys) {
      const done = state.mine === undefined || state.mine.exp <= now;
      if (!state.driving && state.queue.waiting === 0 && state.queue.live(now).length === 0 && done) {
        this.keys.delete(key);
      }
    }
  }

  /**
   * Until when the interactive reserve holds for this key, as this process knows it: Infinity while one
   * of its interactive callers waits, else the end of the grace after the last interactive demand here
   * or in any live lease of the ledger as last read (-Infinity: none). Background leases add up to at
   * most R - reserve while it holds, to R otherwise.
   */
  private reserveUntil(state: KeyState, rule: RateRule, now: number): number {
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
  private limitBg(state: KeyState, rule: RateRule, now: number): number {
    const holds = now < this.reserveUntil(state, rule, now);
    return rule.limit - (holds ? reservedSlots(rule.limit, this.reserve) : 0);
  }

  /** What the lease lets this process hold now (nothing when it is too short-lived to cover a call). */
  private capacity(state: KeyState, rule: RateRule, now: number): Capacity {
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

  /**
   * The key's driver (one per key and process): grants from the lease, syncs with the ledger when the
   * lease must grow, be renewed, shrink or be trimmed, otherwise sleeps until the next thing due.
   */
  private async drive(state: KeyState): Promise<void> {
    if (state.driving) return state.queue.wake();
    state.driving = true;
    try {
      for (;;) {
        const now = this.clock.now();
        const rule = this.rule(state.key);
        // Interactive demand lasts while its callers wait: the grace counts from their last moment here.
        if (state.queue.waitingInteractive > 0) state.interactiveAt = now;
        const refuse = (background: boolean, position: number) =>
          this.refuse(state, now, background, position);
        const granted = state.queue.serve(
          now,
          this.capacity(state, rule, now),
          rule.windowMs,
          refuse,
          undefined,
          false,
        );
        if (granted > 0 || state.queue.waiting > 0) state.busyAt = now;
        const due = this.due(state, rule, now);
        if (due === "now" && state.syncedAt !== now) {
          // A sync that changed nothing is not repeated in the same millisecond.
          state.syncedAt = (await this.sync(state, rule)) ? undefined : now;
          continue;
        }
        state.queue.refuseExpired(now, refuse);
        // A second sync in the same millisecond would find what the first found: look again in 1 ms.
        if (due === "now") {
          await state.queue.pause(now, now + 1);
          continue;
        }
        const next =
          state.queue.waiting > 0
            ? Math.min(due, state.queue.nextFree(now, rule.windowMs), state.queue.nextDeadline())
            : due;
        if (!Number.isFinite(next) && state.queue.waiting === 0) return;
        await state.queue.pause(now, next);
      }
    } catch (error: unknown) {
      state.queue.failAll(error);
    } finally {
      state.driving = false;
    }
  }

  private refuse(state: KeyState, now: number, background: boolean, position: number): Error {
    // The store failing is the reason, not the rate: say so (503).
    if (
      state.failure &&
      now - state.failure.at < this.rule(state.key).windowMs &&
      state.failure.error instanceof Error
    ) {
      return state.failure.error;
    }
    const { limit, windowMs } = this.rule(state.key);
    return new TooManyRequestsError(
      `more than ${limit} calls in ${windowMs} ms to ${state.key}; try again later`,
      {
        retryAfter: retryAfterSeconds(this.estimateWaitMs(state, now, background, position)),
      },
    );
  }

  /** "now" when a ledger sync is due, else when the next one will be (Infinity: none planned). */
  private due(state: KeyState, rule: RateRule, now: number): "now" | number {
    const W = rule.windowMs;
    const queue = state.queue;
    const live = queue.live(now);
    if (state.mine && state.mine.exp <= now) state.mine = undefined;
    const mine = state.mine;
    if (state.failure && now < state.failure.at + W / 10) return state.failure.at + W / 10;
    let next = Number.POSITIVE_INFINITY;
    // The reserve began (interactive demand here: publish it, and plan background within R - reserve)
    // or ended (waiting background work may grow to R): plan again.
    const reserveUntil = this.reserveUntil(state, rule, now);
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
      if (interactive && state.wantedBackground && this.takeable(state, rule, now, false) > 0) return "now";
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

  /** Capacity the last read ledger leaves free beyond this process's lease, for the head waiter. */
  private takeable(state: KeyState, rule: RateRule, now: number, background: boolean): number {
    const ledger = state.ledger;
    if (!ledger) return 0;
    const { free, freeBg } = this.free(state, ledger, rule, now);
    const lease = state.mine;
    const have = lease ? (now >= lease.by ? lease.m : lease.n) : 0;
    const haveBg = lease ? (now >= lease.by ? lease.c : lease.b) : 0;
    return background ? Math.min(free - have, freeBg - haveBg) : free - have;
  }

  /** Capacity not leased by the other processes at `now` (and from then on: leases only shrink). */
  private free(
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
   * Reads the ledger (or, the first time, tries to create it blind: per-message keys are new), plans
   * this process's lease and writes it when it changed or needs renewing, conditioned on the version.
   */
  private async sync(state: KeyState, rule: RateRule): Promise<boolean> {
    const pk = `RATE#${state.key}`;
    const blind = state.blind && state.ledger !== undefined;
    state.blind = false;
    let changed = false;
    try {
      let ledger: Ledger | undefined = state.fresh
        ? { version: 0, leases: new Map(), readAt: this.clock.now() }
        : blind
          ? state.ledger
          : await this.read(pk);
      state.fresh = false;
      for (let attempt = 0; attempt < 10 && ledger; attempt++) {
        state.ledger = ledger;
        const now = this.clock.now();
        const planned = this.plan(state, rule, ledger, now);
        if (!this.worthWriting(state, rule, planned, now)) {
          this.afterSync(state, rule, ledger, now, false);
          break;
        }
        if (await this.write(pk, ledger, planned, now)) {
          const leases = new Map(ledger.leases);
          if (planned) leases.set(this.owner, planned);
          else leases.delete(this.owner);
          state.ledger = { version: ledger.version + 1, leases, readAt: now };
          const grew = planned !== undefined && (state.mine === undefined || planned.n > state.mine.n);
          state.mine = planned;
          changed = true;
          this.afterSync(state, rule, state.ledger, now, grew);
          break;
        }
        ledger = await this.read(pk);
      }
      state.failure = undefined;
    } catch (error: unknown) {
      // Reads and writes that failed (throttling, network): the lease as it was still holds until it
      // expires; try again shortly, and let waiters whose budget ends meanwhile hear why.
      state.failure = { at: this.clock.now(), error };
    }
    return changed;
  }

  /** After a sync that gained nothing, wait for the ledger's next change, reading again within W/2. */
  private afterSync(state: KeyState, rule: RateRule, ledger: Ledger, now: number, grew: boolean): void {
    const W = rule.windowMs;
    state.wantedBackground = state.queue.headIsBackground;
    if (grew) {
      state.nextWantAt = now;
      return;
    }
    let change = now + W / 2;
    for (const [owner, lease] of ledger.leases) {
      if (owner === this.owner) continue;
      if (lease.by + CLOCK_SKEW_MS > now) change = Math.min(change, lease.by + CLOCK_SKEW_MS);
      if (lease.exp + CLOCK_SKEW_MS > now) change = Math.min(change, lease.exp + CLOCK_SKEW_MS);
    }
    // The reserve ends: background waiters may take it.
    const reserveUntil = this.reserveUntil(state, rule, now);
    if (reserveUntil > now && Number.isFinite(reserveUntil)) change = Math.min(change, reserveUntil);
    const reserved = reservedSlots(rule.limit, this.reserve);
    // An interactive caller waits for the reserve that background leases elsewhere still hold (they
    // have not yet read its demand): look again soon, to take it the moment they publish their shrink.
    if (
      state.queue.waitingInteractive > 0 &&
      this.free(state, ledger, rule, now).usedBg > rule.limit - reserved
    )
      change = Math.min(change, now + W / 10);
    // Background leases reach into the reserve (none holds): read more often, so that an interactive
    // caller in another process gets it back sooner (4 reads per W instead of 2, 1 RCU each).
    const mineBg = state.mine?.b ?? 0;
    if (
      reserved > 0 &&
      mineBg > 0 &&
      this.free(state, ledger, rule, now).usedBg + mineBg > rule.limit - reserved
    )
      change = Math.min(change, now + W / 4);
    state.nextWantAt = Math.max(now + W / 50, change + 1);
  }

  /** Skips writes that change nothing the others need to know (no new capacity, no renewal due). */
  private worthWriting(state: KeyState, rule: RateRule, planned: Lease | undefined, now: number): boolean {
    const mine = state.mine;
    if (!mine || !planned) return mine !== planned;
    if (planned.n !== mine.n || planned.b !== mine.b || planned.m !== mine.m || planned.c !== mine.c)
      return true;
    if (planned.by !== mine.by && planned.by > now) return true;
    if (mine.exp - now <= this.renewBefore(state, rule)) return true;
    // Interactive demand the others have not heard of (or heard of long ago): the reserve signal.
    if (planned.ia - mine.ia >= interactiveGraceMs(rule.windowMs, this.graceMs) / 2) return true;
    // A want the others have not heard of (or one that is gone) changes their shares.
    return planned.want > 0 !== mine.want > 0 || planned.wantBg > 0 !== mine.wantBg > 0;
  }

  /**
   * This process's next lease: its demand (live holds + waiters + a block, or only the calls in flight
   * once idle), shared max-min fairly with the others' demands, within what they leave free.
   */
  private plan(state: KeyState, rule: RateRule, ledger: Ledger, now: number): Lease | undefined {
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

  private async read(pk: string): Promise<Ledger> {
    const output = await guard(
      this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { pk, sk: LEDGER_SK }, ConsistentRead: true }),
      ),
    );
    return parseLedger(output.Item, this.clock.now());
  }

  private write(pk: string, ledger: Ledger, lease: Lease | undefined, now: number): Promise<boolean> {
    const leases: Record<string, number[]> = {};
    let expires = now;
    for (const [owner, other] of ledger.leases) {
      // Leases that ended are dropped, so the item stays one small lease per live process.
      if (owner === this.owner || other.exp + CLOCK_SKEW_MS <= now) continue;
      leases[owner] = encode(other);
      expires = Math.max(expires, other.exp);
    }
    if (lease) {
      leases[this.owner] = encode(lease);
      expires = Math.max(expires, lease.exp);
    }
    return conditionally(
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk,
            sk: LEDGER_SK,
            v: ledger.version + 1,
            l: leases,
            [TABLE.ttlAttribute]: Math.ceil(expires / 1000) + 3_600,
          },
          ...(ledger.version === 0
            ? { ConditionExpression: "attribute_not_exists(pk)" }
            : { ConditionExpression: "v = :v", ExpressionAttributeValues: { ":v": ledger.version } }),
        }),
      ),
    );
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

const encode = (lease: Lease): number[] => [
  lease.n,
  lease.b,
  lease.m,
  lease.c,
  lease.by,
  lease.exp,
  lease.want,
  lease.wantBg,
  lease.ia,
];

function parseLedger(item: Record<string, unknown> | undefined, now: number): Ledger {
  const leases = new Map<string, Lease>();
  const version = typeof item?.v === "number" ? item.v : 0;
  const stored = item?.l;
  if (stored && typeof stored === "object") {
    for (const [owner, value] of Object.entries(stored)) {
      if (!Array.isArray(value) || value.length < 8 || !value.every((part) => typeof part === "number"))
        continue;
      // Leases written before the reserve signal have 8 parts: no interactive demand.
      const [n, b, m, c, by, exp, want, wantBg, ia] = value as number[];
      leases.set(owner, {
        n: n ?? 0,
        b: b ?? 0,
        m: m ?? 0,
        c: c ?? 0,
        by: by ?? 0,
        exp: exp ?? 0,
        want: want ?? 0,
        wantBg: wantBg ?? 0,
        ia: ia ?? 0,
      });
    }
  }
  // An item without a version (none yet) is created with a condition on its absence.
  return { version: item === undefined ? 0 : version, leases, readAt: now };
}
