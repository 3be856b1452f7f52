/**
 * The feature schema of a model: the ordered feature names its rows are laid out in. A model only
 * makes sense with the exact schema it was trained on, so it is stored in the model file with a
 * hash, and loading compares it with the schema of the caller (e.g. this build's flow features).
 */
import { createHash } from 'node:crypto';

/** Ordered, unique feature names and a short hash of them. */
export interface FeatureSchema {
  readonly names: readonly string[];
  /** First 16 hex digits of SHA-256 over the names joined with '\n'. */
  readonly hash: string;
}

/** Limits on a schema, so a hostile model file or table header cannot ask for absurd sizes. */
export const MAX_FEATURES = 4096;
export const MAX_FEATURE_NAME_LENGTH = 256;

/**
 * Builds a schema from ordered names. Throws on programmer errors (empty, duplicate, too many or
 * too long names): schemas come from code or from a validated model file, never raw from the wire.
 */
export function makeSchema(names: readonly string[]): FeatureSchema {
  const problem = schemaProblem(names);
  if (problem) throw new RangeError(problem);
  return { names: Object.freeze([...names]), hash: schemaHash(names) };
}

/** A one-line description of why `names` is not a valid schema, or undefined when it is. */
export function schemaProblem(names: readonly unknown[]): string | undefined {
  if (names.length === 0) return 'feature schema is empty: give at least one feature name';
  if (names.length > MAX_FEATURES) return `feature schema has ${names.length} names, more than the limit of ${MAX_FEATURES}`;
  const seen = new Set<string>();
  for (const n of names) {
    if (typeof n !== 'string' || n.length === 0 || n.length > MAX_FEATURE_NAME_LENGTH) {
      return `feature name ${JSON.stringify(n)} is not a string of 1..${MAX_FEATURE_NAME_LENGTH} characters`;
    }
    if (seen.has(n)) return `feature name ${JSON.stringify(n)} appears twice in the schema`;
    seen.add(n);
  }
  return undefined;
}

/** Hash identifying an ordered list of names (order matters: the rows are positional). */
export function schemaHash(names: readonly string[]): string {
  return createHash('sha256').update(names.join('\n')).digest('hex').slice(0, 16);
}

/**
 * Compares the schema a model was trained with against the schema the caller computes. Returns
 * undefined when identical, otherwise one line naming what differs, e.g.
 * `model schema 1a2b… differs from ours 3c4d…: model lacks dns.entropy; model has extra old.x (retrain the model)`.
 */
export function schemaMismatch(model: FeatureSchema, ours: FeatureSchema): string | undefined {
  if (model.hash === ours.hash && sameOrder(model.names, ours.names)) return undefined;
  const modelSet = new Set(model.names);
  const oursSet = new Set(ours.names);
  const lacks = ours.names.filter((n) => !modelSet.has(n));
  const extra = model.names.filter((n) => !oursSet.has(n));
  const parts: string[] = [];
  if (lacks.length > 0) parts.push(`model lacks ${listNames(lacks)}`);
  if (extra.length > 0) parts.push(`model has extra ${listNames(extra)}`);
  if (parts.length === 0) parts.push('same features in a different order');
  return `model feature schema ${model.hash} differs from ours ${ours.hash}: ${parts.join('; ')} (retrain the model with this schema)`;
}

function sameOrder(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Comma-separated names, shortened after 12 so the message stays one readable line. */
export function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 12).join(', ');
  return names.length > 12 ? `${shown} and ${names.length - 12} more` : shown;
}
