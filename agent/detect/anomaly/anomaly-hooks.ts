/**
 * What the detect stage hands the `anomaly` detector besides its thresholds: the model to score
 * with and, in the daemon, the live learner. Kept out of the detector config because a model is
 * an object that the daemon swaps on reload, not a YAML value.
 */
import { makeSchema, type FeatureSchema } from '../iforest/schema.js';
import { IsolationForest } from '../iforest/forest.js';
import { FEATURE_NAMES } from '../../features/feature-schema.js';
import type { AnomalyLearner } from './anomaly-learner.js';

/** A holder whose `model` may change at any time (the daemon's ModelSlot has this shape). */
export interface AnomalyModelSource {
  readonly model: IsolationForest | undefined;
}

export interface AnomalyHooks {
  /** A fixed model, or a holder read on every flow (so a reload takes effect at once). */
  model?: IsolationForest | AnomalyModelSource;
  /** Live learning: the detector offers each flow's features to it and calls its tick. */
  learner?: AnomalyLearner;
}

/** The feature schema of this build's flow features: what models must be trained with. */
export const FLOW_FEATURE_SCHEMA: FeatureSchema = makeSchema(FEATURE_NAMES);

/** The model `hooks` currently point at (the learner's own model when no other is given). */
export function currentModel(hooks: AnomalyHooks | undefined): IsolationForest | undefined {
  if (!hooks) return undefined;
  const m = hooks.model;
  if (m instanceof IsolationForest) return m;
  return m?.model ?? hooks.learner?.model;
}
