import { randomUUID } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { grantDeadline, refusal, retryAfterSeconds, slotWaitMs } from "../../core/admission.ts";
import { TooManyRequestsError } from "../../core/errors.ts";
import {
  type Clock,
  currentWork,
  DEFAULT_INTERACTIVE_RESERVE,
  type RateLimiter,
  type RateRule,
  type RateSlot,
  systemClock,
} from "../../core/limiter.ts";
import { cancelled, WaitQueue } from "../../core/wait-queue.ts";
import { type KeyState, LeasePlanner } from "./limiter-lease.ts";
import { type Ledger, LedgerStore } from "./limiter-ledger.ts";
import { SyncSchedule } from "./limiter-schedule.ts";

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
  private readonly maxHoldMs: number;
  private readonly owner: string;
  private readonly planner: LeasePlanner;
  private readonly schedule: SyncSchedule;
  private readonly ledgers: LedgerStore;

  constructor(
    client: DynamoDBDocumentClient,
    tableName: string,
    private readonly rule: (key: string) => RateRule,
    options: DynamoLimiterOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.maxHoldMs = options.maxHoldMs ?? 60_000;
    this.owner = options.owner ?? randomUUID().slice(0, 13);
    this.planner = new LeasePlanner(
      this.owner,
      options.interactiveReserve ?? DEFAULT_INTERACTIVE_RESERVE,
      options.interactiveGraceMs,
    );
    this.schedule = new SyncSchedule(this.planner);
    this.ledgers = new LedgerStore(client, tableName, this.owner, this.clock);
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
      if (state.queue.waitingInteractive === 0 && this.planner.takeable(state, rule, now, false) > 0) {
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
      ? (state.shareBg ?? this.planner.limitBg(state, { limit, windowMs }, now))
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
          this.schedule.capacity(state, rule, now),
          rule.windowMs,
          refuse,
          undefined,
          false,
        );
        if (granted > 0 || state.queue.waiting > 0) state.busyAt = now;
        const due = this.schedule.due(state, rule, now);
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
          : await this.ledgers.read(pk);
      state.fresh = false;
      for (let attempt = 0; attempt < 10 && ledger; attempt++) {
        state.ledger = ledger;
        const now = this.clock.now();
        const planned = this.planner.plan(state, rule, ledger, now);
        if (!this.schedule.worthWriting(state, rule, planned, now)) {
          this.schedule.afterSync(state, rule, ledger, now, false);
          break;
        }
        if (await this.ledgers.write(pk, ledger, planned, now)) {
          const leases = new Map(ledger.leases);
          if (planned) leases.set(this.owner, planned);
          else leases.delete(this.owner);
          state.ledger = { version: ledger.version + 1, leases, readAt: now };
          const grew = planned !== undefined && (state.mine === undefined || planned.n > state.mine.n);
          state.mine = planned;
          changed = true;
          this.schedule.afterSync(state, rule, state.ledger, now, grew);
          break;
        }
        ledger = await this.ledgers.read(pk);
      }
      state.failure = undefined;
    } catch (error: unknown) {
      // Reads and writes that failed (throttling, network): the lease as it was still holds until it
      // expires; try again shortly, and let waiters whose budget ends meanwhile hear why.
      state.failure = { at: this.clock.now(), error };
    }
    return changed;
  }
}
