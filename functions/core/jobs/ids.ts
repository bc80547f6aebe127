import { randomBytes } from "node:crypto";

/** Crockford base32 in lowercase: ASCII order equals numeric order, no ambiguous letters. */
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const TIME_CHARS = 10; // 50 bits: epoch ms until the year 37,000
const RANDOM_CHARS = 16; // 80 bits

let lastTime = -1;
let lastRandom: number[] = [];

/**
 * A job id: `job_` + 10 characters of creation time + 16 random ones (a ULID in lowercase), so ids sort
 * by creation and the stores list jobs newest first by id alone. Monotonic within a process: a second id
 * in the same millisecond (or after the clock stepped back) increments the previous random part instead
 * of drawing a new one.
 */
export function newJobId(now: number): string {
  const time = Math.max(Math.floor(now), lastTime);
  if (time === lastTime) {
    lastRandom = increment(lastRandom);
  } else {
    lastTime = time;
    lastRandom = [...randomBytes(RANDOM_CHARS)].map((byte) => byte & 31);
  }
  let encoded = "";
  let rest = time;
  for (let i = 0; i < TIME_CHARS; i++) {
    encoded = ALPHABET.charAt(rest % 32) + encoded;
    rest = Math.floor(rest / 32);
  }
  return `job_${encoded}${lastRandom.map((digit) => ALPHABET.charAt(digit)).join("")}`;
}

/** The random part plus one (base 32, carrying leftwards); at its maximum (2^80 ids in a ms) it wraps. */
function increment(digits: readonly number[]): number[] {
  const next = [...digits];
  for (let i = next.length - 1; i >= 0; i--) {
    const digit = (next[i] ?? 0) + 1;
    next[i] = digit % 32;
    if (digit < 32) break;
  }
  return next;
}

/** A job id's shape, for routes that take one (404 before any store call when it cannot be one). */
export const JOB_ID_PATTERN = /^job_[0-9a-hjkmnp-tv-z]{26}$/;
