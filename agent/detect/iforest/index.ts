/**
 * Picket's Isolation Forest: the public surface. See README.md in this folder for the model, the
 * file format, missing-value semantics and measured speed.
 */
export { IsolationForest, type ForestParams, type FeatureStats } from './forest.js';
export { trainIsolationForest, DEFAULT_PARAMS, paramsProblem, type TrainOptions } from './train.js';
export { RowReservoir, DEFAULT_RESERVOIR_CAPACITY, type RowFilter, type ReservoirSnapshot } from './reservoir.js';
export { encodeModel, decodeModel, saveModel, loadModel, type ModelLoadResult, type ModelLoadFailure } from './model-file.js';
export { makeSchema, schemaMismatch, schemaHash, type FeatureSchema } from './schema.js';
export { explainRow, describeDeviations, type FeatureDeviation } from './explain.js';
export { rocAuc } from './roc-auc.js';
export { thresholdFromScores } from './threshold.js';
