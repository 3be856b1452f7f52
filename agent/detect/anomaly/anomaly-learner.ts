/**
 * Live learning of the anomaly model (the daemon's learning period and periodic retraining).
 *
 * The anomaly detector offers every flow's feature row (except flows some detector already
 * alerted on) with its uid. The learner keeps a bounded uniform sample (RowReservoir). When the
 * learning period has passed and enough rows were seen it trains a forest — leaving out rows
 * whose flows raised alerts in the meantime (baseline poisoning) — hands it to the detector,
 * and saves it to `modelPath` (atomic write). After that it keeps sampling and retrains every
 * `retrainSec` on the rows of the last period only (the network drifts; old behaviour ages out).
 *
 * Daemon wiring (see agent/detect/anomaly/README.md):
 *   const learner = new AnomalyLearner({ modelPath, learningPeriodSec, ... }, { log, onModel: (m) => slot.model = m });
 *   new DetectStage({ ..., anomaly: { model: slot, learner } });   // the detector calls offer/tick
 *   // at stop: await learner.flush();
 * Time is the records' time (packet time offline, wall time live), so tests run a "week" in ms.
 */
import type { IsolationForest } from '../iforest/forest.js';
import { saveModel } from '../iforest/model-file.js';
import { DEFAULT_RESERVOIR_CAPACITY, RowReservoir } from '../iforest/reservoir.js';
import type { FeatureSchema } from '../iforest/schema.js';
import type { TrainOptions } from '../iforest/train.js';

export interface AnomalyLearnerConfig {
  /** Where each trained model is written ('' = keep it in memory only). */
  modelPath: string;
  /** Time observed before the first model, seconds (default 7 days). */
  learningPeriodSec: number;
  /** Rows (flows) needed before training; the period is extended until there are (default 2000). */
  minRows: number;
  /** Retrain this long after the last model, on the rows since (0 = never; default 7 days). */
  retrainSec: number;
  /** Rows kept (uniform sample), default 32 768 ≈ 23 MB with 88 features. */
  capacity: number;
  /** Forest parameters (trees, ψ, seed, threshold quantile). */
  train: TrainOptions;
}

export const DEFAULT_LEARNER: AnomalyLearnerConfig = {
  modelPath: '',
  learningPeriodSec: 7 * 86_400,
  minRows: 2000,
  retrainSec: 7 * 86_400,
  capacity: DEFAULT_RESERVOIR_CAPACITY,
  train: {},
};

export interface AnomalyLearnerOptions {
  /** One line per event (model trained, saved, save failed, too few rows). */
  log?: (level: 'info' | 'warn', line: string) => void;
  /** Called with each new model (e.g. to put it in the daemon's model slot). */
  onModel?: (model: IsolationForest) => void;
  /**
   * A model already in use (loaded at start): learning is skipped and the next retraining is
   * `retrainSec` after its creation time.
   */
  existing?: IsolationForest;
}

export type LearnerPhase = 'learning' | 'trained';

/** What the learner is doing, for status lines and metrics. */
export interface LearnerStatus {
  phase: LearnerPhase;
  /** Rows held / offered since the current period started. */
  rows: number;
  seen: number;
  /** When the current period started and when training is due (µs; NaN before the first row). */
  periodStartUs: number;
  dueUs: number;
  /** Models trained by this learner. */
  trained: number;
  /** Rows left out of the last training because their flows alerted. */
  lastExcluded: number;
  lastError: string;
}

export class AnomalyLearner {
  readonly config: AnomalyLearnerConfig;
  private readonly reservoir: RowReservoir;
  /** uid of the row held in each reservoir slot, and its numeric id. */
  private readonly uidBySlot: (string | undefined)[];
  private readonly idBySlot: Float64Array;
  private readonly uidOfId = new Map<number, string>();
  private nextId = 0;
  private current: IsolationForest | undefined;
  private periodStartUs = NaN;
  private phase: LearnerPhase = 'learning';
  private trainedCount = 0;
  private lastExcluded = 0;
  private lastError = '';
  private saving: Promise<void> = Promise.resolve();
  /** Existing model's creation time (ms), used as the first period start once rows arrive. */
  private readonly existingMs: number | undefined;

  constructor(
    readonly schema: FeatureSchema,
    cfg: Partial<AnomalyLearnerConfig> = {},
    private readonly opts: AnomalyLearnerOptions = {},
  ) {
    this.config = { ...DEFAULT_LEARNER, ...cfg, train: { ...DEFAULT_LEARNER.train, ...cfg.train } };
    const c = this.config;
    if (!(c.learningPeriodSec >= 0)) throw new RangeError(`learning period must be ≥ 0 s, got ${c.learningPeriodSec}`);
    if (!(c.retrainSec >= 0)) throw new RangeError(`retrain interval must be ≥ 0 s, got ${c.retrainSec}`);
    if (!Number.isInteger(c.minRows) || c.minRows < 2) throw new RangeError(`minRows must be an integer ≥ 2, got ${c.minRows}`);
    this.reservoir = new RowReservoir(schema.names.length, c.capacity, c.train.seed ?? 1);
    this.uidBySlot = new Array<string | undefined>(c.capacity);
    this.idBySlot = new Float64Array(c.capacity).fill(-1);
    if (opts.existing) {
      this.current = opts.existing;
      this.phase = 'trained';
      const ms = Date.parse(opts.existing.createdAt);
      this.existingMs = Number.isFinite(ms) ? ms : undefined;
    }
  }

  /** The latest model this learner trained (or was given), if any. */
  get model(): IsolationForest | undefined {
    return this.current;
  }

  /** Offers one flow's row (copied). Call for flows no detector alerted on; `tsUs` is the flow's end. */
  offer(row: Float64Array, uid: string, tsUs: number): void {
    if (Number.isNaN(this.periodStartUs)) {
      this.periodStartUs = this.existingMs !== undefined && this.phase === 'trained' ? Math.min(tsUs, this.existingMs * 1000) : tsUs;
    }
    const id = this.nextId++;
    const slot = this.reservoir.addToSlot(row.subarray(0, this.schema.names.length), id);
    if (slot < 0) return;
    const old = this.idBySlot[slot]!;
    if (old >= 0) this.uidOfId.delete(old);
    this.idBySlot[slot] = id;
    this.uidBySlot[slot] = uid;
    this.uidOfId.set(id, uid);
  }

  /** Leaves a held flow out of the next training (its flow raised an alert later). */
  exclude(uid: string): void {
    for (const [id, u] of this.uidOfId) {
      if (u === uid) {
        this.reservoir.exclude(id);
        return;
      }
    }
  }

  /** When training is due (µs), NaN before the first row. */
  dueUs(): number {
    const period = this.phase === 'learning' ? this.config.learningPeriodSec : this.config.retrainSec;
    if (this.phase === 'trained' && this.config.retrainSec === 0) return Infinity;
    return this.periodStartUs + period * 1e6;
  }

  /**
   * Trains when due and enough rows are held (call about once a second; the detector does).
   * `alerted(uid)` leaves out flows that raised alerts after they were offered. Returns the new
   * model, or undefined. Training is synchronous (≈ 0.1–0.5 s for 32 k rows, 100 trees); saving
   * runs in the background (await {@link flush}).
   */
  tick(nowUs: number, alerted?: (uid: string) => boolean): IsolationForest | undefined {
    const due = this.dueUs();
    if (!(nowUs >= due)) return undefined;
    if (this.reservoir.size < this.config.minRows) return undefined; // the period stretches until there are enough rows
    return this.trainNow(nowUs, alerted);
  }

  /** Trains at once on the held rows (a `picket train` run, or an operator's request). */
  trainNow(nowUs: number, alerted?: (uid: string) => boolean): IsolationForest | undefined {
    let excluded = 0;
    const skip = alerted
      ? (id: number): boolean => {
          const uid = this.uidOfId.get(id);
          const hit = uid !== undefined && alerted(uid);
          if (hit) excluded++;
          return hit;
        }
      : undefined;
    let model: IsolationForest;
    try {
      model = this.reservoir.build(this.schema, this.config.train, skip);
    } catch (err) {
      this.lastError = (err as Error).message;
      this.opts.log?.('warn', `anomaly model not trained: ${this.lastError}`);
      this.periodStartUs = nowUs; // try again after another period
      return undefined;
    }
    this.lastExcluded = excluded + 0;
    this.current = model;
    this.trainedCount++;
    const rows = model.trainingRows;
    this.opts.log?.(
      'info',
      `anomaly model trained on ${rows} flows (${excluded} left out: their flows raised alerts), ${model.nTrees} trees, ψ ${model.effectiveSampleSize}, threshold ${model.threshold.toFixed(3)} at quantile ${model.params.thresholdQuantile}`,
    );
    this.opts.onModel?.(model);
    // Next period: fresh rows only.
    this.phase = 'trained';
    this.periodStartUs = nowUs;
    this.reservoir.clear();
    this.uidOfId.clear();
    this.idBySlot.fill(-1);
    this.uidBySlot.fill(undefined);
    if (this.config.modelPath !== '') {
      const path = this.config.modelPath;
      this.saving = this.saving
        .then(() => saveModel(path, model))
        .then(
          () => this.opts.log?.('info', `anomaly model saved to ${path}`),
          (err: unknown) => {
            this.lastError = `cannot save the anomaly model to ${path}: ${(err as Error).message}`;
            this.opts.log?.('warn', `${this.lastError} (check the state directory; the model stays in memory)`);
          },
        );
    }
    return model;
  }

  /** Resolves once every started save has finished (call at stop). */
  flush(): Promise<void> {
    return this.saving;
  }

  status(): LearnerStatus {
    return {
      phase: this.phase,
      rows: this.reservoir.size,
      seen: this.reservoir.seen,
      periodStartUs: this.periodStartUs,
      dueUs: this.dueUs(),
      trained: this.trainedCount,
      lastExcluded: this.lastExcluded,
      lastError: this.lastError,
    };
  }
}
