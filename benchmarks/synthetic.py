"""Synthetic rows: vaekit against SDV's TVAE on four tables.

For each table and seed: a stratified 70/30 split of the real rows (by the
table's class column); each generator fits the 70% (the class column
included, as one more column) with the same epochs budget, then draws as
many rows as it was given. Each synthetic table is judged by

- SDMetrics' quality report against the real 70%: "Column Shapes" (each
  column's distribution: KS complement for numbers, TV complement for
  categories) and "Column Pair Trends" (correlations and contingency
  tables of every pair of columns), each in [0, 1], higher is better;
- the accuracy on the real 30% of a random forest trained on the
  synthetic rows ("train synthetic, test real"; the same forest trained on
  the real 70% is the reference);
- seconds: fitting plus drawing.

The generators: vaekit's `vaekit.sklearn.VAETransformer` (the
`tabular-synthesis` preset; `sample` draws from p(x|z): numbers within their training range,
whole-number columns rounded, categories drawn) and SDV's
`TVAESynthesizer` at its defaults (its own min/max and rounding on), both
given `--epochs` epochs (vaekit's preset trains at most 3000 steps, so on
a larger table it stops sooner: the epochs it trained are printed).

The tables ship with the packages, nothing is downloaded: scikit-learn's
breast-cancer table (569 rows, 30 numbers; class: diagnosis), its diabetes
table unscaled (442 rows; whole-number ages, sex as text; class: the
disease progression above or below its median), SDMetrics' student
placements demo (215 rows; text, true/false, whole-number and decimal
columns; class: placed; the ID, dates, salary and duration left out) and,
a larger one, scikit-learn's digits as a table (1797 rows of 64
whole-number pixels 0-16; class: the digit).

Usage:
    python benchmarks/synthetic.py [--seeds 0,1,2] [--epochs 300]
        [--tables breast_cancer,diabetes,placements,digits] [--out benchmarks/out/synthetic.json]

Needs `pip install -e ".[synthetic]"` (SDV, which pins pandas below 3: a
virtual environment of its own keeps yours).
"""

import argparse
import json
import os
import platform
import time

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

HERE = os.path.dirname(os.path.abspath(__file__))


def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.drop(columns="target")
    frame["diagnosis"] = np.asarray(data.target_names, dtype=object)[data.target]
    return frame, "diagnosis"


def diabetes():
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(scaled=False, as_frame=True).frame
    frame["age"] = frame["age"].round().astype("int64")
    frame["sex"] = np.where(frame["sex"] == 1, "one", "two").astype(object)
    target = frame.pop("target")
    high = target > target.median()
    frame["progression"] = np.where(high, "high", "low").astype(object)
    return frame, "progression"


def placements():
    import sdmetrics

    path = os.path.join(
        os.path.dirname(sdmetrics.__file__),
        "demos",
        "single_table",
        "student_placements_real.csv",
    )
    frame = pd.read_csv(path).drop(
        columns=["student_id", "start_date", "end_date", "salary", "duration"]
    )
    for column in ("work_experience", "placed"):
        frame[column] = frame[column].astype(str).astype(object)
    return frame, "placed"


def digits():
    from sklearn.datasets import load_digits

    data = load_digits(as_frame=True)
    frame = data.frame.drop(columns="target").astype("int64")
    frame["digit"] = np.asarray([f"d{t}" for t in data.target], dtype=object)
    return frame, "digit"


TABLES = {
    "breast_cancer": breast_cancer,
    "diabetes": diabetes,
    "placements": placements,
    "digits": digits,
}


def metadata_of(frame):
    """SDV metadata: text columns categorical, the rest numerical."""
    from sdv.metadata import Metadata

    columns = {
        str(c): {"sdtype": "categorical" if frame[c].dtype == object else "numerical"}
        for c in frame.columns
    }
    return Metadata.load_from_dict({"tables": {"table": {"columns": columns}}})


def fit_vaekit(train, epochs, seed):
    from vaekit.sklearn import VAETransformer

    generator = VAETransformer(epochs=epochs, seed=seed)
    start = time.perf_counter()
    generator.fit(train)
    rows = generator.sample(len(train), seed=seed)
    seconds = time.perf_counter() - start
    trained = generator._config().for_rows(len(train)).epochs
    return rows, seconds, trained


def fit_tvae(train, epochs, seed):
    import torch
    from sdv.single_table import TVAESynthesizer

    torch.manual_seed(seed)
    np.random.seed(seed)
    generator = TVAESynthesizer(metadata_of(train), epochs=epochs)
    start = time.perf_counter()
    generator.fit({"table": train})  # SDV 2 takes {table name: DataFrame}
    rows = generator.sample(len(train))
    if isinstance(rows, dict):
        rows = rows["table"]
    return rows, time.perf_counter() - start, epochs


GENERATORS = {"vaekit": fit_vaekit, "tvae": fit_tvae}


def quality(real, synthetic):
    """SDMetrics' Column Shapes and Column Pair Trends scores."""
    from sdmetrics.reports.single_table import QualityReport

    report = QualityReport()
    metadata = metadata_of(real).to_dict()["tables"]["table"]
    report.generate(real, synthetic[real.columns], metadata, verbose=False)
    scores = report.get_properties().set_index("Property")["Score"]
    return float(scores["Column Shapes"]), float(scores["Column Pair Trends"])


def accuracy(train, test, target, seed):
    """Accuracy on `test` of a random forest trained on `train`."""
    text = [c for c in train.columns if c != target and train[c].dtype == object]
    forest = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), text), remainder="passthrough"
        ),
        RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=1),
    )
    forest.fit(train.drop(columns=target), train[target].astype(str))
    predicted = forest.predict(test.drop(columns=target))
    return float(np.mean(predicted == test[target].astype(str).to_numpy()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--generators", default=",".join(GENERATORS))
    parser.add_argument("--out", default=os.path.join(HERE, "out", "synthetic.json"))
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    names = args.generators.split(",")
    results = {}
    for table in args.tables.split(","):
        frame, target = TABLES[table]()
        rows = {n: [] for n in [*names, "real"]}
        for seed in seeds:
            train, test = train_test_split(
                frame, test_size=0.3, stratify=frame[target], random_state=seed
            )
            train, test = train.reset_index(drop=True), test.reset_index(drop=True)
            rows["real"].append(
                {"accuracy": accuracy(train, test, target, seed), "seconds": 0.0}
            )
            for name in names:
                synthetic, seconds, epochs = GENERATORS[name](train, args.epochs, seed)
                shapes, pairs = quality(train, synthetic)
                rows[name].append(
                    {
                        "column_shapes": shapes,
                        "column_pair_trends": pairs,
                        "accuracy": accuracy(synthetic, test, target, seed),
                        "seconds": seconds,
                        "epochs": epochs,
                    }
                )
                print(
                    f"{table:14s} seed {seed} {name:7s} shapes {shapes:.3f} "
                    f"pairs {pairs:.3f} accuracy {rows[name][-1]['accuracy']:.3f} "
                    f"{seconds:6.1f} s ({epochs} epochs)",
                    flush=True,
                )
        results[table] = {
            "rows": len(frame),
            "columns": frame.shape[1],
            **{
                n: {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
                for n, runs in rows.items()
            },
            "per_seed": rows,
        }
    print()
    print(
        f"{'table':14s} {'generator':9s} {'shapes':>7s} {'pairs':>7s} {'TSTR acc':>9s} {'seconds':>8s}"
    )
    for table, result in results.items():
        for name in [*names, "real"]:
            r = result[name]
            print(
                f"{table:14s} {name:9s} {r.get('column_shapes', float('nan')):7.3f} "
                f"{r.get('column_pair_trends', float('nan')):7.3f} "
                f"{r['accuracy']:9.3f} {r['seconds']:8.1f}"
            )
    import sdv
    import torch

    import vaekit

    out = {
        "seeds": seeds,
        "epochs": args.epochs,
        "tables": results,
        "python": platform.python_version(),
        "versions": {
            "vaekit": vaekit.__version__,
            "sdv": sdv.__version__,
            "torch": torch.__version__,
            "pandas": pd.__version__,
        },
        "threads": os.environ.get("OMP_NUM_THREADS", "default"),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(out, handle, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
