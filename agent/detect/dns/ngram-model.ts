/**
 * A character trigram model of legitimate domain labels (`google`, `wikipedia`), with bigram and
 * unigram interpolation for unseen trigrams: P(c | a b) = 0.6·P3 + 0.3·P2 + 0.1·P1 (each add-½
 * smoothed). A label's score is its mean log2 probability per character including the end
 * marker; algorithmically generated labels (`xkqjzvbtw`) score far below real words and brands.
 *
 * Trained at start-up from BENIGN_DOMAINS (≈2.5 k names, a few ms); `threshold` is the
 * `quantile` of the training labels' own scores, so by construction that share of known-good
 * names would be called unlikely.
 */
import { BENIGN_DOMAINS } from './benign-domains.js';
import { registeredDomain } from './registered-domain.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789-';
/** Symbol ids: 0 = boundary, 1..37 = ALPHABET, 38 = anything else. */
const SYMBOLS = ALPHABET.length + 2;
const OTHER = SYMBOLS - 1;
const CODE = (() => {
  const t = new Uint8Array(128).fill(OTHER);
  for (let i = 0; i < ALPHABET.length; i++) t[ALPHABET.charCodeAt(i)] = i + 1;
  return t;
})();

function sym(c: number): number {
  if (c >= 0x41 && c <= 0x5a) c += 0x20;
  return c < 128 ? CODE[c]! : OTHER;
}

export class NgramModel {
  private readonly uni = new Float64Array(SYMBOLS);
  private readonly bi = new Float64Array(SYMBOLS * SYMBOLS);
  private readonly biCtx = new Float64Array(SYMBOLS);
  private readonly tri = new Float64Array(SYMBOLS * SYMBOLS * SYMBOLS);
  private readonly triCtx = new Float64Array(SYMBOLS * SYMBOLS);
  private total = 0;
  /** Score below which a label is unlikely (set by `train`). */
  threshold = -Infinity;

  /** Trains on labels; sets `threshold` to the given quantile of the training scores. */
  train(labels: readonly string[], quantile = 0.02): this {
    for (const l of labels) {
      let a = 0;
      let b = 0;
      for (let i = 0; i <= l.length; i++) {
        const c = i < l.length ? sym(l.charCodeAt(i)) : 0;
        this.uni[c]!++;
        this.total++;
        this.bi[b * SYMBOLS + c]!++;
        this.biCtx[b]!++;
        this.tri[(a * SYMBOLS + b) * SYMBOLS + c]!++;
        this.triCtx[a * SYMBOLS + b]!++;
        a = b;
        b = c;
      }
    }
    const scores = labels.map((l) => this.score(l)).sort((x, y) => x - y);
    this.threshold = scores[Math.floor(quantile * (scores.length - 1))] ?? -Infinity;
    return this;
  }

  /** Mean log2 probability per symbol (higher = more like the training names). */
  score(label: string): number {
    let a = 0;
    let b = 0;
    let sum = 0;
    const n = Math.min(label.length, 63);
    for (let i = 0; i <= n; i++) {
      const c = i < n ? sym(label.charCodeAt(i)) : 0;
      const p1 = (this.uni[c]! + 0.5) / (this.total + 0.5 * SYMBOLS);
      const p2 = (this.bi[b * SYMBOLS + c]! + 0.5) / (this.biCtx[b]! + 0.5 * SYMBOLS);
      const p3 = (this.tri[(a * SYMBOLS + b) * SYMBOLS + c]! + 0.5) / (this.triCtx[a * SYMBOLS + b]! + 0.5 * SYMBOLS);
      sum += Math.log2(0.6 * p3 + 0.3 * p2 + 0.1 * p1);
      a = b;
      b = c;
    }
    return sum / (n + 1);
  }

  /** True when the label looks machine-made to this model. */
  unlikely(label: string): boolean {
    return this.score(label) < this.threshold;
  }
}

let shared: NgramModel | undefined;

/** The model trained on the bundled benign list (built once, on first use). */
export function benignDomainModel(): NgramModel {
  if (!shared) {
    const labels: string[] = [];
    for (const d of BENIGN_DOMAINS) {
      const p = registeredDomain(d);
      if (p) labels.push(p.label);
    }
    shared = new NgramModel().train(labels);
  }
  return shared;
}
