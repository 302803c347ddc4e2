"""Unsupervised anomaly detection on ADBench's tables, five detectors.

ADBench's protocol (Han et al., NeurIPS 2022): for each table and seed, a
stratified 70/30 split (`train_test_split(X, y, test_size=0.3, stratify=y,
random_state=seed)`); each detector fits the 70% without its labels (the
anomalies stay in it) and scores the 30%; the AUROC of those scores. The
detectors, each at its library's defaults:

- vaekit: `vaekit.sklearn.VAEOutlierDetector()` (the `tabular` preset's
  recipe), scored by -log p(x);
- scikit-learn's `IsolationForest(random_state=seed)`;
- PyOD's `ECOD`, `KNN` and `VAE` (the `pyod` package; its VAE needs torch).

Prints the per-table AUROC (mean over the seeds), each detector's mean
AUROC, mean rank (1 best, by table) and total fit seconds, and writes them
as JSON.

Usage:
    python benchmarks/anomaly.py --data DIR [--seeds 0,1,2] [--tables glass,WBC] [--detectors vaekit,iforest]
        [--out benchmarks/out/anomaly.json]

DIR holds ADBench's Classical tables as its repository ships them
(`NN_name.npz` with `X`, `y`). Needs `pip install -e ".[benchmark,torch]"`
(PyOD, and torch for its VAE).
"""

import argparse
import glob
import json
import os
import platform
import time

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))


def _vaekit(seed):
    from vaekit.sklearn import VAEOutlierDetector

    detector = VAEOutlierDetector(seed=seed)
    return detector, lambda x: -detector.score_samples(x)


def _iforest(seed):
    detector = IsolationForest(random_state=seed)
    return detector, lambda x: -detector.score_samples(x)


def _pyod_with_sklearn_tags():
    """PyOD 2.0's detectors predate scikit-learn 1.6's estimator tags, which
    `check_is_fitted` (called by their `decision_function`) reads: give them
    scikit-learn's defaults."""
    from pyod.models.base import BaseDetector
    from sklearn.base import BaseEstimator

    if not hasattr(BaseDetector, "__sklearn_tags__"):
        BaseDetector.__sklearn_tags__ = BaseEstimator.__sklearn_tags__


def _pyod(name):
    def make(seed):
        _pyod_with_sklearn_tags()
        if name == "ecod":
            from pyod.models.ecod import ECOD

            detector = ECOD()
        elif name == "knn":
            from pyod.models.knn import KNN

            detector = KNN()
        else:
            from pyod.models.vae import VAE

            detector = VAE(random_state=seed, verbose=0)
        return detector, detector.decision_function

    return make


DETECTORS = {
    "vaekit": _vaekit,
    "iforest": _iforest,
    "ecod": _pyod("ecod"),
    "knn": _pyod("knn"),
    "pyod_vae": _pyod("vae"),
}


def table_name(path):
    """`14_glass.npz` -> `glass`."""
    return os.path.basename(path)[:-4].split("_", 1)[1]


def run_one(make, x, y, seed):
    """`(auroc, fit seconds)` of one detector on one split of one table."""
    x_train, x_test, _, y_test = train_test_split(
        x, y, test_size=0.3, stratify=y, random_state=seed
    )
    detector, anomaly_score = make(seed)
    start = time.perf_counter()
    detector.fit(x_train)
    seconds = time.perf_counter() - start
    return float(roc_auc_score(y_test, anomaly_score(x_test))), seconds


def ranks(aurocs):
    """Per table, the rank of each detector (1 best; ties share the mean)."""
    from scipy.stats import rankdata

    names = list(aurocs)
    tables = list(aurocs[names[0]])
    by_table = np.array([[aurocs[n][t] for n in names] for t in tables])
    ranked = np.array([rankdata(-row) for row in by_table])
    return {n: float(ranked[:, i].mean()) for i, n in enumerate(names)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data",
        required=True,
        help="folder of ADBench tables (NN_name.npz holding X and y, y=1 anomalous)",
    )
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--tables", default="", help="names to run (default all)")
    parser.add_argument("--detectors", default=",".join(DETECTORS))
    parser.add_argument("--out", default=os.path.join(HERE, "out", "anomaly.json"))
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    names = args.detectors.split(",")
    paths = sorted(
        glob.glob(os.path.join(args.data, "*.npz")),
        key=lambda p: int(os.path.basename(p).split("_")[0]),
    )
    if args.tables:
        wanted = set(args.tables.split(","))
        paths = [p for p in paths if table_name(p) in wanted]
    if not paths:
        parser.error(f"no ADBench tables in {args.data}")
    aurocs = {n: {} for n in names}
    seconds = {n: 0.0 for n in names}
    per_seed = {n: {} for n in names}
    for path in paths:
        with np.load(path, allow_pickle=False) as data:
            x, y = data["X"].astype(np.float64), data["y"].astype(int)
        table = table_name(path)
        for name in names:
            runs = [run_one(DETECTORS[name], x, y, seed) for seed in seeds]
            per_seed[name][table] = [a for a, _ in runs]
            aurocs[name][table] = float(np.mean([a for a, _ in runs]))
            seconds[name] += sum(s for _, s in runs)
            print(f"{table:14s} {name:9s} {aurocs[name][table]:.3f}", flush=True)
    mean_rank = ranks(aurocs)
    tables = [table_name(p) for p in paths]
    print()
    print(f"{'table':14s}" + "".join(f"{n:>10s}" for n in names))
    for table in tables:
        print(f"{table:14s}" + "".join(f"{aurocs[n][table]:10.3f}" for n in names))
    print(
        f"{'mean AUROC':14s}"
        + "".join(f"{np.mean(list(aurocs[n].values())):10.3f}" for n in names)
    )
    print(f"{'mean rank':14s}" + "".join(f"{mean_rank[n]:10.2f}" for n in names))
    print(f"{'fit seconds':14s}" + "".join(f"{seconds[n]:10.1f}" for n in names))
    result = {
        "seeds": seeds,
        "auroc": aurocs,
        "auroc_per_seed": per_seed,
        "mean_auroc": {n: float(np.mean(list(aurocs[n].values()))) for n in names},
        "mean_rank": mean_rank,
        "fit_seconds": seconds,
        "python": platform.python_version(),
        "threads": os.environ.get("OMP_NUM_THREADS", "default"),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
