/**
 * Bounded reservoir of training rows for the live learning period and periodic retraining.
 *
 * Rows arrive one by one (one per finished flow); the reservoir keeps a uniform random sample of
 * at most `capacity` of them (Vitter's algorithm R), so memory stays fixed however long learning
 * runs. Each row carries a numeric id (e.g. the flow's sequence number); rows whose flows later
 * raised alerts can be excluded by id, or by a predicate at build time, so an attacker active
 * during learning does not become part of the baseline ("baseline poisoning").
 */
import type { IsolationForest } from './forest.js';
import { Prng } from './prng.js';
import type { FeatureSchema } from './schema.js';
import { trainIsolationForest, type TrainOptions } from './train.js';

/** Default number of rows kept: 32 768 rows × 40 features × 8 B ≈ 10 MB. */
export const DEFAULT_RESERVOIR_CAPACITY = 32_768;
/** Hard cap on capacity × features (64 M values = 512 MB) so a config typo cannot exhaust memory. */
export const MAX_RESERVOIR_VALUES = 64 * 1024 * 1024;

/** Rows copied out of a reservoir, ready for training. */
export interface ReservoirSnapshot {
  readonly data: Float64Array;
  readonly nRows: number;
  /** Rows left out because they were excluded or matched the predicate. */
  readonly skipped: number;
}

/** Predicate over a held row: return true to leave it out of training. `row` is a view valid during the call only. */
export type RowFilter = (id: number, row: Float64Array) => boolean;

export class RowReservoir {
  readonly nFeatures: number;
  readonly capacity: number;
  private data: Float64Array;
  private ids: Float64Array;
  private excluded: Uint8Array;
  /** id → slot for rows currently held; never larger than capacity. */
  private readonly slotOf = new Map<number, number>();
  private held = 0;
  private offered = 0;
  private readonly rng: Prng;

  constructor(nFeatures: number, capacity = DEFAULT_RESERVOIR_CAPACITY, seed = 1) {
    if (!Number.isInteger(nFeatures) || nFeatures < 1) throw new RangeError(`reservoir needs at least 1 feature, got ${nFeatures}`);
    if (!Number.isInteger(capacity) || capacity < 2 || capacity * nFeatures > MAX_RESERVOIR_VALUES) {
      throw new RangeError(`reservoir capacity must be an integer ≥ 2 with capacity × features ≤ ${MAX_RESERVOIR_VALUES}, got ${capacity}`);
    }
    this.nFeatures = nFeatures;
    this.capacity = capacity;
    this.rng = new Prng(seed);
    // Start small and double up to capacity, so a short learning period does not pin the full size.
    const initial = Math.min(capacity, 1024);
    this.data = new Float64Array(initial * nFeatures);
    this.ids = new Float64Array(initial);
    this.excluded = new Uint8Array(initial);
  }

  /** Rows currently held (≤ capacity). */
  get size(): number {
    return this.held;
  }

  /** Rows offered so far (held or not). */
  get seen(): number {
    return this.offered;
  }

  /**
   * Offers one row (`nFeatures` values, NaN = missing) with an id (default: the running row
   * number). Returns true when the row was kept. The row is copied; the caller may reuse it.
   */
  add(row: ArrayLike<number>, id: number = this.offered): boolean {
    return this.addToSlot(row, id) >= 0;
  }

  /**
   * Like {@link add}, but returns the slot the row went to (−1 when it was not kept), so a caller
   * can keep side data per held row (e.g. the flow uid behind a numeric id) in an array of
   * `capacity` entries: whatever it kept for that slot belongs to the row just replaced.
   */
  addToSlot(row: ArrayLike<number>, id: number = this.offered): number {
    if (row.length !== this.nFeatures) throw new RangeError(`reservoir row has ${row.length} values, expected ${this.nFeatures}`);
    const k = this.offered++;
    let slot: number;
    if (k < this.capacity) {
      slot = k;
      this.held = k + 1;
      if (slot >= this.ids.length) this.grow();
    } else {
      // Keep row k with probability capacity/(k+1), replacing a uniformly chosen held row.
      slot = k + 1 <= 0x100000000 ? this.rng.nextInt(k + 1) : Math.floor(this.rng.nextFloat() * (k + 1));
      if (slot >= this.capacity) return -1;
      const old = this.ids[slot]!;
      if (this.slotOf.get(old) === slot) this.slotOf.delete(old);
    }
    const nf = this.nFeatures;
    for (let f = 0; f < nf; f++) this.data[slot * nf + f] = row[f]!;
    this.ids[slot] = id;
    this.excluded[slot] = 0;
    this.slotOf.set(id, slot);
    return slot;
  }

  /** Marks the held row with this id as not to be trained on (its flow raised an alert). Returns whether it was held. */
  exclude(id: number): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    this.excluded[slot] = 1;
    return true;
  }

  /** Copies the held rows, leaving out excluded rows and rows matching `skip`. */
  snapshot(skip?: RowFilter): ReservoirSnapshot {
    const nf = this.nFeatures;
    const out = new Float64Array(this.held * nf);
    let n = 0;
    for (let s = 0; s < this.held; s++) {
      const row = this.data.subarray(s * nf, (s + 1) * nf);
      if (this.excluded[s] === 1 || (skip !== undefined && skip(this.ids[s]!, row))) continue;
      out.set(row, n * nf);
      n++;
    }
    return { data: out.subarray(0, n * nf), nRows: n, skipped: this.held - n };
  }

  /**
   * Trains a forest on the held rows minus excluded ones and those matching `skip`. Throws
   * RangeError (from training) when fewer than 2 rows remain.
   */
  build(schema: FeatureSchema | readonly string[], options: TrainOptions = {}, skip?: RowFilter): IsolationForest {
    const names = 'hash' in schema ? schema.names : schema;
    if (names.length !== this.nFeatures) throw new RangeError(`schema has ${names.length} features, reservoir rows have ${this.nFeatures}`);
    const snap = this.snapshot(skip);
    return trainIsolationForest(snap.data, snap.nRows, schema, options);
  }

  /** Forgets every row (e.g. to start a new learning period); capacity and seed stream continue. */
  clear(): void {
    this.held = 0;
    this.offered = 0;
    this.slotOf.clear();
  }

  private grow(): void {
    const size = Math.min(this.capacity, this.ids.length * 2);
    const data = new Float64Array(size * this.nFeatures);
    data.set(this.data);
    const ids = new Float64Array(size);
    ids.set(this.ids);
    const excluded = new Uint8Array(size);
    excluded.set(this.excluded);
    this.data = data;
    this.ids = ids;
    this.excluded = excluded;
  }
}
