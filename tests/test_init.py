"""vaekit/__init__.py: lazy names, and registration with keras on its import.

What is tested here is what a new process sees (which modules `import
vaekit` loads, whether keras knows vaekit's classes after each import
order), which the test process itself, keras long imported, cannot show.

Each import order needs a process in which neither keras nor vaekit has
been imported. Importing keras costs seconds, most of them in its own
dependencies (scikit-learn, matplotlib, scipy, JAX), which play no part in
the order: so one interpreter imports those dependencies alone and forks a
child per order, all at once (module fixture `reports`), and each child
imports vaekit and keras for the first time. What needs an interpreter with
nothing imported (which modules `import vaekit` and the command line load)
runs in a plain one. Registration is not about a backend: the children run
on Keras' numpy backend.
"""

import fcntl
import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from tests.helpers import FIXTURES

# The model saved by an older vaekit, and what that vaekit computed with it.
MODEL = os.path.join(FIXTURES, "models", "mlp_gaussian_image.keras")
REFERENCE = os.path.join(FIXTURES, "models", "mlp_gaussian_image.npz")
VAEKIT_CLASSES = [
    "VAE",
    "Sampling",
    "DataTransform",
    "SubpixelConv2DTranspose",
    "MatmulConv2D",
]

# Prints, as the last line of output, a JSON report on keras and the finder.
REPORT = f"""
    def registered():
        import keras
        return {{name: str(keras.saving.get_registered_object("vaekit>" + name))
                for name in {VAEKIT_CLASSES!r}}}

    def finders():
        return [type(f).__name__ for f in sys.meta_path].count("_RegisterAfterKeras")

    def heavy():
        return sorted(m for m in ("keras", "jax", "tensorflow", "torch")
                      if m in sys.modules)

    def keras_spec():
        import keras
        return {{
            "loader": type(keras.__loader__).__name__,
            "spec_loader": type(keras.__spec__.loader).__name__,
            "origin": keras.__spec__.origin == keras.__file__,
            "path": list(keras.__path__) == keras.__spec__.submodule_search_locations,
            "backend": keras.backend.backend(),
        }}
"""

# A plain interpreter: what `import vaekit` and the command line load.
LIGHT = """
    import contextlib, importlib, io, json, os, sys, warnings
    warnings.simplefilter("error")
    import vaekit
    report = {
        "default_backend": os.environ.get("KERAS_BACKEND"),
        "user_backend": vaekit._USER_BACKEND,
        "version": vaekit.__version__,
        "finders": finders(),
        "lazy": sorted(m for m in sys.modules if m.startswith("vaekit")),
    }
    # the modules below vaekit.model never import keras (nor a backend)
    for name in ("checks", "io", "archive", "runs", "config", "data",
                 "data.tables", "data.readers"):
        importlib.import_module("vaekit." + name)
    report["heavy"] = heavy()
    # other imports pass through the finder untouched
    import json as j2, numpy, email.mime.text
    finder = next(f for f in sys.meta_path
                  if type(f).__name__ == "_RegisterAfterKeras")
    report["others"] = {
        "numpy": type(numpy.__loader__).__name__,
        "email": type(sys.modules["email.mime.text"].__loader__).__name__,
        "none": finder.find_spec("numpy", None) is None,
        "sub": finder.find_spec("keras.src", None) is None,
        "missing": finder.find_spec("vaekit.no_such_module", None) is None,
    }
    report["finders_still"] = finders()
    # the command line's parser and help
    from vaekit.cli.main import build_parser, main
    build_parser()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        report["codes"] = [main(["--help"]), main(["train", "--help"])]
    report["help"] = out.getvalue()
    report["cli_heavy"] = heavy()
    print(json.dumps(report))
"""

# import vaekit, then (as the CLI does for --backend) choose the backend,
# then keras: a saved model loads with plain keras.
FIRST_VAEKIT = """
    import json, os, sys, warnings
    warnings.simplefilter("error")
    import vaekit
    report = {"default_backend": os.environ.get("KERAS_BACKEND")}
    os.environ["KERAS_BACKEND"] = "numpy"
    import keras
    import numpy as np
    m = keras.saving.load_model(MODEL, safe_mode=True)
    ref = np.load(REFERENCE)
    z_mean, z_log_var = m.encode(ref["x"])
    decoded = m.decode(ref["z"])
    report.update(
        cls=type(m).__module__ + "." + type(m).__name__,
        likelihood=m.likelihood,
        errors=[float(np.abs(np.asarray(a) - ref[k]).max()) for a, k in
                ((z_mean, "z_mean"), (z_log_var, "z_log_var"), (decoded, "decoded"))],
        registered=registered(),
        finders=finders(),
        spec=keras_spec(),
    )
    # the public names, each loaded on first use from its module
    report["public"] = {}
    for name, (module, attribute) in vaekit._PUBLIC.items():
        value = getattr(vaekit, name)
        loaded = sys.modules[module]
        report["public"][name] = value is (
            loaded if attribute is None else getattr(loaded, attribute))
    print(json.dumps(report))
"""

# Another first import of keras after `import vaekit`: the vaekit modules
# import keras while they are half-initialized; registration must wait.
ORDERS = [
    "from keras import ops",
    "import keras.saving",
    "from vaekit.model import likelihoods",
    "import vaekit.model.layers",
    "import vaekit.model.vae",
    "import vaekit.training",
]
ORDER = """
    import json, sys, warnings
    warnings.simplefilter("error")
    import vaekit
    {first}
    import keras
    print(json.dumps({{"registered": registered(), "finders": finders(),
                      "spec": keras_spec()}}))
"""

KERAS_FIRST = """
    import json, sys, warnings
    warnings.simplefilter("error")
    import keras
    import vaekit
    print(json.dumps({"model": "vaekit.model" in sys.modules,
                      "registered": registered(), "finders": finders()}))
"""

FAILING = """
    import importlib, json, sys, warnings
    import vaekit

    real = importlib.import_module
    def failing(name, *args, **kwargs):
        if name == "vaekit.model":
            raise ImportError("simulated failure")
        return real(name, *args, **kwargs)
    importlib.import_module = failing
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import keras
    importlib.import_module = real
    print(json.dumps({
        "keras": keras.__name__,
        "ops": hasattr(keras.ops, "matmul"),
        "warnings": [(w.category.__name__, str(w.message)) for w in caught],
        "finders": finders(),
        "registered": "vaekit.model" in sys.modules,
    }))
"""

# Imports keras' own dependencies (not keras), then forks one child per
# scenario: each runs its code as `__main__`, its output in NAME.out and
# NAME.err; prints the exit status of each.
DRIVER = """
import importlib, json, os, sys, traceback
for name in ("numpy", "scipy.stats", "sklearn.base", "matplotlib.pyplot",
             "ml_dtypes", "jax", "h5py"):
    try:
        importlib.import_module(name)
    except ImportError:
        pass  # keras does without it, or imports it itself
assert "keras" not in sys.modules and "vaekit" not in sys.modules
scenarios = json.load(open(sys.argv[1]))
children = {}
for name, (source, backend) in scenarios.items():
    pid = os.fork()
    if pid:
        children[pid] = name
        continue
    for fd, suffix in ((1, ".out"), (2, ".err")):
        os.dup2(os.open(name + suffix, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
    os.environ["KERAS_BACKEND"] = backend
    status = 0
    try:
        exec(compile(source, name, "exec"), {"__name__": "__main__"})
    except SystemExit as exc:
        status = exc.code or 0
    except BaseException:
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
status = {}
while children:
    pid, code = os.wait()
    status[children.pop(pid)] = os.waitstatus_to_exitcode(code)
print(json.dumps(status))
"""


def source(code):
    preamble = f"import sys\nMODEL, REFERENCE = {MODEL!r}, {REFERENCE!r}\n"
    return preamble + textwrap.dedent(REPORT) + textwrap.dedent(code)


def scenarios():
    """The forked ones: name -> (code, KERAS_BACKEND)."""
    found = {
        "vaekit-first": (source(FIRST_VAEKIT), "jax"),  # (then numpy)
        "keras-first": (source(KERAS_FIRST), "numpy"),
        "failing": (source(FAILING), "numpy"),
    }
    for i, first in enumerate(ORDERS):
        found[f"order{i}"] = (source(ORDER.format(first=first)), "numpy")
    return found


def run_scenarios(cwd):
    """Runs the light scenario in a plain interpreter and the others in
    forked children, all at once; name -> (returncode, stdout, stderr)."""
    forked = scenarios()
    with open(cwd / "scenarios.json", "w") as handle:
        json.dump(forked, handle)
    plain = dict(os.environ)
    plain.pop("KERAS_BACKEND", None)
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-c", code, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=plain,
        )
        for name, code, args in (
            ("light", source(LIGHT), []),
            ("driver", DRIVER, ["scenarios.json"]),
        )
    }
    done = {}
    for name, process in processes.items():
        out, err = process.communicate(timeout=300)
        done[name] = (process.returncode, out, err)
    code, out, err = done.pop("driver")
    assert code == 0, err
    for name, status in json.loads(out).items():
        done[name] = (
            status,
            (cwd / f"{name}.out").read_text(),
            (cwd / f"{name}.err").read_text(),
        )
    assert set(done) == {"light", *forked}
    return done


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The scenarios' results, made once per test session: under
    pytest-xdist each worker would run a module fixture of its own, so the
    first worker to get here runs them and the others read its results."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return run_scenarios(tmp_path_factory.mktemp("init"))
    root = tmp_path_factory.getbasetemp().parent  # this session's, shared
    with open(root / "init-reports.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = root / "init-reports.json"
        if not saved.exists():
            folder = root / "init-reports"
            folder.mkdir()
            saved.write_text(json.dumps(run_scenarios(folder)))
        return json.loads(saved.read_text())


def report(reports, name):
    code, out, err = reports[name]
    assert code == 0, err
    return json.loads(out.strip().splitlines()[-1])


def registered_all():
    return {
        name: f"<class 'vaekit.model.{module}.{name}'>"
        for name, module in zip(
            VAEKIT_CLASSES, ["vae", "layers", "layers", "conv", "conv"], strict=True
        )
    }


def vaekit_command():
    """The installed `vaekit` script beside this interpreter, else `-m`."""
    script = os.path.join(os.path.dirname(sys.executable), "vaekit")
    return [script] if os.path.isfile(script) else [sys.executable, "-m", "vaekit"]


def test_cli_help_answers_fast():
    """`vaekit --help` starts no backend: best of 3 runs under 0.5 s. (First
    in this file: it runs before the other interpreters start.)"""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        result = subprocess.run(
            [*vaekit_command(), "--help"], capture_output=True, text=True, timeout=60
        )
        times.append(time.perf_counter() - start)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("usage: vaekit") and result.stderr == ""
    assert min(times) < 0.5, times


def test_cli_help_imports_no_keras(reports):
    info = report(reports, "light")
    assert info["codes"] == [0, 0]
    assert "usage: vaekit" in info["help"] and "usage: vaekit train" in info["help"]
    assert info["cli_heavy"] == []


def test_import_vaekit_is_lazy_and_leaves_the_backend_open(reports):
    info = report(reports, "light")
    # vaekit's default backend, set only where the user chose none
    assert info["default_backend"] == "jax" and info["user_backend"] is None
    assert info["version"] == "0.2.0"
    assert info["lazy"] == ["vaekit", "vaekit.errors"]
    assert info["heavy"] == []  # nor do config, data, runs, io, archive
    assert info["finders"] == info["finders_still"] == 1


def test_other_imports_pass_through_untouched(reports):
    assert report(reports, "light")["others"] == {
        "numpy": "SourceFileLoader",
        "email": "SourceFileLoader",
        "none": True,
        "sub": True,
        "missing": True,
    }


def test_import_vaekit_then_plain_keras_loads_a_model(reports):
    info = report(reports, "vaekit-first")
    assert info["cls"] == "vaekit.model.vae.VAE"
    assert info["likelihood"] == "gaussian"
    assert info["registered"] == registered_all()
    assert info["finders"] == 0  # the finder has left sys.meta_path
    # the backend chosen after `import vaekit` (KERAS_BACKEND=jax when it
    # was imported) is the one used
    assert info["default_backend"] == "jax" and info["spec"]["backend"] == "numpy"
    # the same weights give the numbers the older vaekit computed (on JAX)
    assert max(info["errors"]) < 1e-5, info["errors"]
    reference = np.load(REFERENCE)
    assert np.abs(reference["decoded"]).max() > 0.1  # not a trivial match


def keras_untouched(spec):
    # keras keeps its own loader and spec: the wrapper is gone
    return spec == {
        "loader": "SourceFileLoader",
        "spec_loader": "SourceFileLoader",
        "origin": True,
        "path": True,
        "backend": "numpy",
    }


@pytest.mark.parametrize("first", ["import keras", *ORDERS])
def test_every_import_order_registers_without_warning(reports, first):
    # (warnings are errors in these interpreters)
    if first == "import keras":
        info = report(reports, "vaekit-first")
        info = {k: info[k] for k in ("registered", "finders", "spec")}
    else:
        info = report(reports, f"order{ORDERS.index(first)}")
    spec = info.pop("spec")
    assert info == {"registered": registered_all(), "finders": 0}
    assert keras_untouched(spec), spec


def test_importing_keras_first_registers_at_once(reports):
    assert report(reports, "keras-first") == {
        "model": True,
        "registered": registered_all(),
        "finders": 0,
    }


def test_a_failed_registration_warns_and_keeps_keras_importable(reports):
    info = report(reports, "failing")
    assert info["keras"] == "keras" and info["ops"]
    assert info["finders"] == 0 and not info["registered"]
    assert len(info["warnings"]) == 1
    category, message = info["warnings"][0]
    assert category == "RuntimeWarning"
    assert "simulated failure" in message and "vaekit.model" in message
    assert "could not register its classes with keras" in message


def test_public_names_load_on_first_use(reports):
    import vaekit

    public = report(reports, "vaekit-first")["public"]
    assert public == dict.fromkeys(vaekit._PUBLIC, True)
    assert {"VAE", "load_model", "evaluate", "score", "train", "Config", "data"} <= set(
        public
    )
    assert sorted(dir(vaekit)) == sorted(vaekit.__all__)
    assert {"VaekitError", "VaekitWarning", "__version__"} <= set(vaekit.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        vaekit.nothing  # noqa: B018


_ONEDNN = """
import json, os, subprocess, sys
import vaekit
child = subprocess.run(
    [sys.executable, "-c", "import os, vaekit; "
     "print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'))"],
    env={**os.environ, "KERAS_BACKEND": sys.argv[1]},
    stdout=subprocess.PIPE, text=True, check=True,
)
print(json.dumps([os.environ.get("TF_ENABLE_ONEDNN_OPTS"), child.stdout.strip()]))
"""


@pytest.mark.parametrize(
    "user, child_backend, expected",
    [
        (None, "tensorflow", ["0", "None"]),  # vaekit's setting, undone
        (None, "torch", ["0", "0"]),
        ("1", "tensorflow", ["1", "1"]),  # the user's, left alone
    ],
)
def test_onednn_quieting_is_undone_for_tensorflow_in_child_processes(
    user, child_backend, expected
):
    """A JAX process turns TensorFlow's oneDNN off (it keeps TensorFlow's
    import quiet); a TensorFlow process it starts gets oneDNN back, which
    trains conv models twice as fast (benchmarks/conv_layers.py)."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TF_ENABLE_ONEDNN_OPTS", "VAEKIT_SET_TF_ENABLE_ONEDNN_OPTS")
    }
    environment["KERAS_BACKEND"] = "jax"
    if user is not None:
        environment["TF_ENABLE_ONEDNN_OPTS"] = user
    done = subprocess.run(
        [sys.executable, "-c", _ONEDNN, child_backend],
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == expected
