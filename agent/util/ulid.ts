/**
 * Monotonic ULIDs (https://github.com/ulid/spec): 26 Crockford base32 characters, 48-bit
 * millisecond time then 80 random bits. Within one millisecond the random part is incremented
 * by one instead of redrawn, so ids from one generator sort in creation order even when many are
 * made in the same millisecond. Alert ids are ULIDs: collectors de-duplicate by them and sort by them.
 */
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const RANDOM_CHARS = 16;
/** 2^48 - 1: the largest time a ULID can carry (year 10889). */
const MAX_TIME = 281_474_976_710_655;

/** Decoding table: Crockford value of each ASCII code, -1 when not a ULID character. */
const DECODE = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) {
    t[ALPHABET.charCodeAt(i)] = i;
    t[ALPHABET.toLowerCase().charCodeAt(i)] = i;
  }
  return t;
})();

/** Options for a generator; both sources are injectable so tests are deterministic. */
export interface UlidOptions {
  /** Milliseconds since the Unix epoch; defaults to Date.now. */
  now?: () => number;
  /** Fills a buffer with random bytes; defaults to crypto.randomFillSync. */
  random?: (buf: Uint8Array) => void;
}

/**
 * A generator of monotonic ULIDs. Keeps the last time and random digits; if the clock goes
 * backwards it keeps the last time (ids stay increasing), and if the 80-bit random part would
 * overflow within one millisecond it moves the time forward by one millisecond rather than fail.
 */
export class UlidGenerator {
  private readonly now: () => number;
  private readonly random: (buf: Uint8Array) => void;
  private lastTime = -1;
  /** The random part as 16 base32 digits (values 0..31). */
  private readonly digits = new Uint8Array(RANDOM_CHARS);
  private readonly pool = new Uint8Array(RANDOM_CHARS);

  constructor(options: UlidOptions = {}) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? ((b) => void randomFillSync(b));
  }

  /** A new ULID, greater than every ULID this generator returned before. */
  next(): string {
    let time = Math.floor(this.now());
    if (!(time >= 0)) time = 0;
    if (time > MAX_TIME) time = MAX_TIME;
    if (time <= this.lastTime) {
      time = this.lastTime;
      if (!this.increment()) {
        // 2^80 ids in one millisecond cannot happen in practice; stay monotonic anyway.
        time = Math.min(MAX_TIME, time + 1);
        this.draw();
      }
    } else {
      this.draw();
    }
    this.lastTime = time;
    return encodeTime(time) + this.randomText();
  }

  private draw(): void {
    this.random(this.pool);
    for (let i = 0; i < RANDOM_CHARS; i++) this.digits[i] = this.pool[i]! & 31;
  }

  /** Adds one to the random digits; false on overflow (all digits were 31). */
  private increment(): boolean {
    for (let i = RANDOM_CHARS - 1; i >= 0; i--) {
      if (this.digits[i]! < 31) {
        this.digits[i]!++;
        return true;
      }
      this.digits[i] = 0;
    }
    return false;
  }

  private randomText(): string {
    let s = '';
    for (let i = 0; i < RANDOM_CHARS; i++) s += ALPHABET[this.digits[i]!];
    return s;
  }
}

function encodeTime(time: number): string {
  let s = '';
  let t = time;
  for (let i = 0; i < TIME_CHARS; i++) {
    s = ALPHABET[t % 32] + s;
    t = Math.floor(t / 32);
  }
  return s;
}

const shared = new UlidGenerator();

/** A new monotonic ULID from the process-wide generator. */
export function ulid(): string {
  return shared.next();
}

/** True when `s` is a syntactically valid ULID (26 Crockford characters, time within 48 bits). */
export function isUlid(s: string): boolean {
  if (s.length !== TIME_CHARS + RANDOM_CHARS) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || DECODE[c]! < 0) return false;
  }
  // The first character carries only 3 time bits (48 = 3 + 9 * 5).
  return DECODE[s.charCodeAt(0)]! <= 7;
}

/** The millisecond time inside a ULID, or -1 when `s` is not a ULID. */
export function ulidTime(s: string): number {
  if (!isUlid(s)) return -1;
  let t = 0;
  for (let i = 0; i < TIME_CHARS; i++) t = t * 32 + DECODE[s.charCodeAt(i)]!;
  return t;
}
