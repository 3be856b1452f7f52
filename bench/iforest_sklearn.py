#!/usr/bin/env python3
"""scikit-learn side of bench/iforest-bench.ts (needs Debian python3-sklearn: run with /usr/bin/python3).

  export OUTDIR              write the labelled datasets (bundled with scikit-learn, no download,
                             plus synthetic mixtures) as CSV files with a `label` column (1 = anomaly)
  auc CSV LABEL SEED...      IsolationForest(n_estimators=100, max_samples=256, random_state=SEED)
                             fitted on all rows, ROC AUC of -score_samples per seed; prints JSON
  speed CSV LABEL            fit once, time score_samples on every row on one thread; prints JSON
"""
import json
import warnings
import os
import sys
import time

# max_samples > rows is expected on the small datasets (scikit-learn then uses every row, as Picket does).
warnings.filterwarnings("ignore", message="max_samples")

# One core, like the JS side: no BLAS/OpenMP threads.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
from sklearn import datasets  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402


def write_csv(path, X, y, names=None):
    names = names or [f"f{i}" for i in range(X.shape[1])]
    with open(path, "w") as fh:
        fh.write(",".join(names + ["label"]) + "\n")
        for row, label in zip(X, y):
            fh.write(",".join(repr(float(v)) for v in row) + f",{int(label)}\n")


def one_class_as_anomaly(X, target, anomaly_class, fraction, rng):
    """Inliers: every other class; anomalies: `anomaly_class`, downsampled to `fraction` of the inliers."""
    inl = np.flatnonzero(target != anomaly_class)
    out = np.flatnonzero(target == anomaly_class)
    if fraction is not None:
        keep = max(2, int(round(fraction * len(inl))))
        out = rng.choice(out, size=min(keep, len(out)), replace=False)
    idx = np.concatenate([inl, out])
    y = np.concatenate([np.zeros(len(inl)), np.ones(len(out))])
    return X[idx], y


def export(outdir):
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.RandomState(0)
    made = []

    bc = datasets.load_breast_cancer()
    # target 0 = malignant (212 of 569, the minority class)
    X, y = one_class_as_anomaly(bc.data, bc.target, 0, None, rng)
    write_csv(f"{outdir}/breast_cancer.csv", X, y)
    made.append(("breast_cancer", "malignant (212/569) as anomalies"))
    X, y = one_class_as_anomaly(bc.data, bc.target, 0, 0.1, rng)
    write_csv(f"{outdir}/breast_cancer_10pct.csv", X, y)
    made.append(("breast_cancer_10pct", "malignant downsampled to 10 % of benign"))

    wine = datasets.load_wine()
    X, y = one_class_as_anomaly(wine.data, wine.target, 2, 0.1, rng)
    write_csv(f"{outdir}/wine.csv", X, y)
    made.append(("wine", "class 2 (minority) downsampled to 10 %"))

    iris = datasets.load_iris()
    X, y = one_class_as_anomaly(iris.data, iris.target, 0, 0.1, rng)
    write_csv(f"{outdir}/iris.csv", X, y)
    made.append(("iris", "setosa downsampled to 10 %"))

    digits = datasets.load_digits()
    X, y = one_class_as_anomaly(digits.data, digits.target, 0, 0.05, rng)
    write_csv(f"{outdir}/digits.csv", X, y)
    made.append(("digits", "digit 0 downsampled to 5 % (64 pixel features)"))

    # Synthetic: Gaussian blob in 35 dimensions; 1 % of rows shifted by ±2.5σ in 4 random dimensions.
    n, d = 20000, 35
    X = rng.normal(size=(n, d))
    k = n // 100
    for i in range(k):
        dims = rng.choice(d, size=4, replace=False)
        X[i, dims] += rng.choice([-2.5, 2.5], size=4)
    y = np.zeros(n)
    y[:k] = 1
    write_csv(f"{outdir}/synthetic_gauss35.csv", X, y)
    made.append(("synthetic_gauss35", "N(0,1)^35, 1 % shifted ±2.5σ in 4 of 35 dimensions"))

    # Synthetic: three clusters of different spread in 10-d + 2 % local outliers around them.
    centers = rng.uniform(-10, 10, size=(3, 10))
    scales = (0.5, 1.0, 2.0)
    parts = [rng.normal(loc=c, scale=s, size=(3000, 10)) for c, s in zip(centers, scales)]
    pick = rng.randint(0, 3, size=180)
    out = np.array([rng.normal(loc=centers[j], scale=2.5 * scales[j]) for j in pick])
    X = np.vstack(parts + [out])
    y = np.concatenate([np.zeros(9000), np.ones(180)])
    write_csv(f"{outdir}/synthetic_clusters10.csv", X, y)
    made.append(("synthetic_clusters10", "3 Gaussian clusters (σ 0.5/1/2) in 10-d, 2 % local outliers (2.5σ of their cluster)"))

    # Synthetic, flow-like: heavy-tailed log-normal volumes, Poisson counts, binary flags; anomalies shift a few features.
    n = 20000
    X = np.column_stack([
        rng.lognormal(7, 1.5, n), rng.lognormal(6, 1.2, n), rng.poisson(12, n), rng.exponential(2.0, n),
        rng.binomial(1, 0.05, n), rng.binomial(1, 0.3, n), rng.normal(3.2, 0.4, n), rng.randint(1, 6, n),
    ])
    k = 200
    X[:k, 0] *= rng.uniform(20, 200, k)  # exfiltration-like upload volume
    X[:k, 2] = rng.poisson(1, k)         # few packets
    X[:k, 6] = rng.normal(4.6, 0.2, k)   # high entropy
    y = np.zeros(n)
    y[:k] = 1
    write_csv(f"{outdir}/synthetic_flowlike.csv", X, y,
              ["bytes_out", "bytes_in", "packets", "duration", "self_signed", "high_port", "dns_entropy", "labels"])
    made.append(("synthetic_flowlike", "log-normal volumes, counts, flags; 1 % shifted in 3 features"))
    print(json.dumps([{"name": a, "desc": b} for a, b in made]))


def load(path, label):
    with open(path) as fh:
        header = fh.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    li = header.index(label)
    y = data[:, li]
    X = np.delete(data, li, axis=1)
    return X, y


def auc(path, label, seeds):
    X, y = load(path, label)
    res, fit_s = [], []
    for s in seeds:
        t0 = time.perf_counter()
        m = IsolationForest(n_estimators=100, max_samples=256, random_state=int(s)).fit(X)
        fit_s.append(time.perf_counter() - t0)
        res.append(roc_auc_score(y, -m.score_samples(X)))
    print(json.dumps({"auc": res, "fit_s": float(np.median(fit_s))}))


def speed(path, label):
    X, y = load(path, label)
    m = IsolationForest(n_estimators=100, max_samples=256, random_state=1).fit(X)
    m.score_samples(X[:1000])  # warm up
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        m.score_samples(X)
        best = max(best, len(X) / (time.perf_counter() - t0))
    t0 = time.perf_counter()
    IsolationForest(n_estimators=100, max_samples=256, random_state=1).fit(X)
    print(json.dumps({"rows_per_s": best, "rows": len(X), "fit_s": time.perf_counter() - t0}))


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "export":
        export(sys.argv[2])
    elif cmd == "auc":
        auc(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif cmd == "speed":
        speed(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
