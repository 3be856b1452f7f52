/**
 * The anomaly model the daemon runs with: loaded at start and again on SIGHUP (train elsewhere,
 * copy the file, `systemctl reload picket`). A missing file is the normal state before the first
 * model is learned; a damaged one is reported and the previous model (if any) is kept, so a bad
 * copy never stops the sensor.
 */
import { existsSync, statSync } from 'node:fs';
import { loadModel } from '../detect/iforest/model-file.js';
import type { IsolationForest } from '../detect/iforest/forest.js';
import type { FeatureSchema } from '../detect/iforest/schema.js';

export type ModelState = 'none' | 'waiting' | 'loaded';

export class ModelSlot {
  /** The model in use; the anomaly detector reads it per flow, the live learner replaces it. */
  model: IsolationForest | undefined;
  private path = '';
  private mtimeMs = -1;

  /** `expected`: the feature schema models must have (a model of another build is refused). */
  constructor(private readonly expected?: FeatureSchema) {}

  /** Seconds since the loaded model was trained; undefined without a model. */
  ageSeconds(nowMs = Date.now()): number | undefined {
    if (!this.model) return undefined;
    const t = Date.parse(this.model.createdAt);
    return Number.isFinite(t) ? Math.max(0, (nowMs - t) / 1000) : undefined;
  }

  /**
   * (Re)loads `path` when it changed. Returns one line for the log, or undefined when nothing
   * changed; `level` says how to log it.
   */
  async load(path: string, learningPeriodS: number): Promise<{ level: 'info' | 'warn'; message: string } | undefined> {
    if (path === '') {
      const had = this.model !== undefined || this.path !== '';
      this.model = undefined;
      this.path = '';
      return had ? { level: 'info', message: 'anomaly model turned off (model.path is empty)' } : undefined;
    }
    if (!existsSync(path)) {
      const changed = path !== this.path || this.mtimeMs !== -1;
      this.path = path;
      this.mtimeMs = -1;
      this.model = undefined;
      const days = (learningPeriodS / 86_400).toFixed(learningPeriodS % 86_400 === 0 ? 0 : 1);
      return changed ? { level: 'info', message: `no anomaly model at ${path} yet: anomaly scoring starts once one is trained (learning period ${days} days)` } : undefined;
    }
    const mtime = statSync(path).mtimeMs;
    if (path === this.path && mtime === this.mtimeMs) return undefined;
    const r = await loadModel(path, this.expected);
    if (!r.ok) {
      // Keep the previous model; remember the mtime so the same bad file is reported once.
      this.path = path;
      this.mtimeMs = mtime;
      return { level: 'warn', message: `${r.message}; ${this.model ? 'keeping the previous model' : 'running without an anomaly model'}` };
    }
    this.path = path;
    this.mtimeMs = mtime;
    this.model = r.value;
    return { level: 'info', message: `anomaly model ${path} loaded (trained ${r.value.createdAt}, ${r.value.nTrees} trees, ${r.value.nFeatures} features)` };
  }
}
