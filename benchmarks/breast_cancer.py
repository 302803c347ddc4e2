"""Anomaly detection on scikit-learn's bundled breast-cancer table.

Train on 70% of the benign rows (seeded split), score the other benign rows
and every malignant row, and report the AUROC of vaekit's
`neg_log_likelihood` beside scikit-learn's `IsolationForest` and a PCA
reconstruction error (standardised features, the components that explain
90% of the training variance), all on the same split, in one run. vaekit
goes through its CLI on CSV files, as a user would:

    vaekit train --preset tabular --data train.csv
    vaekit score RUN/model.keras --data test.csv --label-column malignant \\
        --output scores.csv

Usage:
    python benchmarks/breast_cancer.py [--seeds 0,1,2] [--out FILE.json]
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))


def split(seed):
    """`(x_train, x_test, y_test)`: 70% of the benign rows to train on; the
    other benign rows (label 0) and all malignant rows (label 1) to score."""
    bunch = load_breast_cancer()
    x, malignant = bunch.data, bunch.target == 0  # sklearn: 0 = malignant
    benign = np.flatnonzero(~malignant)
    order = np.random.default_rng(seed).permutation(benign)
    n_train = int(round(0.7 * len(benign)))
    train, held = order[:n_train], order[n_train:]
    test = np.concatenate([held, np.flatnonzero(malignant)])
    y_test = np.concatenate([np.zeros(len(held)), np.ones(malignant.sum())])
    return bunch.feature_names, x[train], x[test], y_test.astype(int)


def write_csv(path, names, x, y=None):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(names) + ([] if y is None else ["malignant"]))
        for i, row in enumerate(x):
            writer.writerow([f"{v:.9g}" for v in row] + ([] if y is None else [y[i]]))


def vaekit_auroc(names, x_train, x_test, y_test, seed, folder, extra=()):
    train_csv = os.path.join(folder, "train.csv")
    test_csv = os.path.join(folder, "test.csv")
    write_csv(train_csv, names, x_train)
    write_csv(test_csv, names, x_test, y_test)
    run = os.path.join(folder, "run")
    vaekit = [sys.executable, "-m", "vaekit"]
    start = time.perf_counter()
    subprocess.run(
        [
            *vaekit,
            "train",
            "--preset",
            "tabular",
            "--data",
            train_csv,
            "--seed",
            str(seed),
            "--output",
            run,
            "--overwrite",
            "--quiet",
            *extra,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    scores = os.path.join(folder, "scores.csv")
    subprocess.run(
        [
            *vaekit,
            "score",
            os.path.join(run, "model.keras"),
            "--data",
            test_csv,
            "--label-column",
            "malignant",
            "--output",
            scores,
            "--iw-samples",
            "1000",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with open(scores) as handle:
        rows = list(csv.DictReader(handle))
    labels = np.array([float(r["label"]) for r in rows])
    assert np.array_equal(labels, y_test), "score must keep the input's row order"
    result = {"train_seconds": round(seconds, 1)}
    for key in ("neg_log_likelihood", "neg_elbo", "reconstruction_error"):
        result[key] = roc_auc_score(y_test, [float(r[key]) for r in rows])
    return result


def baselines(x_train, x_test, y_test, seed):
    forest = IsolationForest(random_state=seed).fit(x_train)
    scaler = StandardScaler().fit(x_train)
    pca = PCA(n_components=0.9, random_state=seed).fit(scaler.transform(x_train))
    z = scaler.transform(x_test)
    error = ((z - pca.inverse_transform(pca.transform(z))) ** 2).mean(axis=1)
    return {
        "isolation_forest": roc_auc_score(y_test, -forest.score_samples(x_test)),
        "pca_reconstruction": roc_auc_score(y_test, error),
        "pca_components": int(pca.n_components_),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument(
        "--out",
        default=os.path.join(HERE, "out", "breast_cancer.json"),
        help="JSON file",
    )
    parser.add_argument("extra", nargs="*", help="more `vaekit train` flags")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    per_seed = []
    for seed in seeds:
        names, x_train, x_test, y_test = split(seed)
        with tempfile.TemporaryDirectory() as folder:
            row = {"seed": seed, "n_train": len(x_train), "n_test": len(x_test)}
            row["vaekit"] = vaekit_auroc(
                names, x_train, x_test, y_test, seed, folder, args.extra
            )
            row.update(baselines(x_train, x_test, y_test, seed))
        print(json.dumps(row), flush=True)
        per_seed.append(row)

    def mean(get):
        return round(float(np.mean([get(r) for r in per_seed])), 4)

    summary = {
        "vaekit_neg_log_likelihood": mean(lambda r: r["vaekit"]["neg_log_likelihood"]),
        "vaekit_neg_elbo": mean(lambda r: r["vaekit"]["neg_elbo"]),
        "vaekit_reconstruction_error": mean(
            lambda r: r["vaekit"]["reconstruction_error"]
        ),
        "isolation_forest": mean(lambda r: r["isolation_forest"]),
        "pca_reconstruction": mean(lambda r: r["pca_reconstruction"]),
        "vaekit_train_seconds": mean(lambda r: r["vaekit"]["train_seconds"]),
    }
    result = {"seeds": seeds, "per_seed": per_seed, "mean_auroc": summary}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=2)
    print(json.dumps(summary, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
