/** Per-flow feature vectors: the public surface (see docs/features.md for the table). */
export { FeatureExtractor, type FeatureConfig, type FeatureState } from './flow-features.js';
export { FEATURE_SPECS, FEATURE_NAMES, FEATURE_COUNT, FEATURE_INDEX, FEATURE_SET_VERSION, featureIndex, featureFamily, type FeatureSpec, type FeatureFamily } from './feature-schema.js';
export { HostContext, DEFAULT_HOST_CONTEXT, type HostContextConfig } from './host-context.js';
export { DEFAULT_SUSPICIOUS_PORTS, DEFAULT_KNOWN_BAD_JA3, DEFAULT_KNOWN_BAD_JA4 } from './classifiers.js';
