"""vaekit/__init__.py: lazy names, and registration with keras on its import.

Each check runs in a fresh interpreter: what it tests is what a new process
sees (which modules `import vaekit` loads, whether keras knows vaekit's
classes), which the test process itself, keras long imported, cannot show.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest


def _python(code, tmp_path, backend="jax"):
    """Runs `code` in a fresh interpreter; returns its stdout (checked)."""
    env = dict(os.environ, KERAS_BACKEND=backend)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _last_json(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


SAVE = """
    import numpy as np
    import vaekit

    encoder = vaekit.build_encoder((8,), [4], 2, seed=1)
    decoder = vaekit.build_decoder((8,), [4], 2, seed=2)
    vae = vaekit.VAE(encoder, decoder, likelihood="gaussian", seed=3)
    x = np.random.default_rng(0).random((5, 8)).astype("float32")
    vae(x)
    vae.save("m.keras")
    z_mean, z_log_var = vae.encode(x)
    np.save("x.npy", x)
    np.save("saved.npy", np.stack([z_mean, z_log_var]))
    np.save("decoded.npy", vae.decode(z_mean))
"""


def test_import_vaekit_then_plain_keras_loads_a_model(tmp_path):
    _python(SAVE, tmp_path)
    out = _python(
        """
        import json, sys
        import vaekit
        assert "keras" not in sys.modules
        import keras
        import numpy as np

        m = keras.saving.load_model("m.keras", safe_mode=True)
        x = np.load("x.npy")
        z_mean, z_log_var = m.encode(x)
        np.save("loaded.npy", np.stack([z_mean, z_log_var]))
        np.save("loaded_decoded.npy", m.decode(z_mean))
        print(json.dumps({
            "class": type(m).__module__ + "." + type(m).__name__,
            "likelihood": m.likelihood,
            "backend": keras.backend.backend(),
            "finder_left": [type(f).__name__ for f in sys.meta_path
                            if type(f).__name__ == "_RegisterWithKeras"],
        }))
        """,
        tmp_path,
    )
    info = _last_json(out)
    assert info == {
        "class": "vaekit.model.vae.VAE",
        "likelihood": "gaussian",
        "backend": "jax",
        "finder_left": [],
    }
    # The same weights give the same numbers: the encoder is deterministic.
    np.testing.assert_array_equal(
        np.load(tmp_path / "loaded.npy"), np.load(tmp_path / "saved.npy")
    )
    np.testing.assert_array_equal(
        np.load(tmp_path / "loaded_decoded.npy"), np.load(tmp_path / "decoded.npy")
    )


def test_import_vaekit_does_not_import_keras(tmp_path):
    out = _python(
        """
        import json, sys
        import vaekit
        print(json.dumps({
            "keras": "keras" in sys.modules,
            "models": "vaekit.model.vae" in sys.modules,
            "finders": [type(f).__name__ for f in sys.meta_path].count(
                "_RegisterWithKeras"),
            "version": vaekit.__version__,
        }))
        """,
        tmp_path,
    )
    assert _last_json(out) == {
        "keras": False,
        "models": False,
        "finders": 1,
        "version": "0.1.0",
    }


def test_importing_keras_first_registers_at_once(tmp_path):
    out = _python(
        """
        import json, sys
        import keras
        import vaekit
        print(json.dumps({
            "models": "vaekit.model.vae" in sys.modules,
            "VAE": str(keras.saving.get_registered_object("vaekit>VAE")),
            "Sampling": str(keras.saving.get_registered_object("vaekit>Sampling")),
            "finders": [type(f).__name__ for f in sys.meta_path].count(
                "_RegisterWithKeras"),
        }))
        """,
        tmp_path,
    )
    assert _last_json(out) == {
        "models": True,
        "VAE": "<class 'vaekit.model.vae.VAE'>",
        "Sampling": "<class 'vaekit.model.layers.Sampling'>",
        "finders": 0,
    }


@pytest.mark.parametrize(
    "first",
    [
        "import keras",
        "from keras import ops",
        "import keras.saving",
        # vaekit modules that import keras while they are half-initialized:
        # registration must wait until they finish.
        "from vaekit import losses",
        "import vaekit.model.layers",
        "import vaekit.model.vae",
    ],
)
def test_every_import_order_registers_without_warning(tmp_path, first):
    out = _python(
        f"""
        import json, sys, warnings
        warnings.simplefilter("error")
        import vaekit
        {first}
        import keras
        print(json.dumps({{
            "VAE": str(keras.saving.get_registered_object("vaekit>VAE")),
            "finders": [type(f).__name__ for f in sys.meta_path].count(
                "_RegisterWithKeras"),
            "loader": type(keras.__loader__).__name__,
            "spec_loader": type(keras.__spec__.loader).__name__,
            "origin": keras.__spec__.origin == keras.__file__,
            "path": list(keras.__path__) == keras.__spec__.submodule_search_locations,
        }}))
        """,
        tmp_path,
    )
    assert _last_json(out) == {
        "VAE": "<class 'vaekit.model.vae.VAE'>",
        "finders": 0,
        # keras keeps its own loader and spec: the wrapper is gone
        "loader": "SourceFileLoader",
        "spec_loader": "SourceFileLoader",
        "origin": True,
        "path": True,
    }


def test_the_backend_chosen_after_import_vaekit_is_used(tmp_path):
    # What the CLI does for --backend: set KERAS_BACKEND after `import vaekit`.
    out = _python(
        """
        import json, os
        import vaekit
        os.environ["KERAS_BACKEND"] = "torch"
        import keras
        print(json.dumps({
            "backend": keras.backend.backend(),
            "VAE": str(keras.saving.get_registered_object("vaekit>VAE")),
        }))
        """,
        tmp_path,
        backend="jax",
    )
    assert _last_json(out) == {
        "backend": "torch",
        "VAE": "<class 'vaekit.model.vae.VAE'>",
    }


def test_a_failed_registration_warns_and_keeps_keras_importable(tmp_path):
    out = _python(
        """
        import importlib, json, sys, warnings
        import vaekit

        real = importlib.import_module
        def failing(name, *args, **kwargs):
            if name == "vaekit.model.vae":
                raise ImportError("simulated failure")
            return real(name, *args, **kwargs)
        importlib.import_module = failing
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import keras
        importlib.import_module = real
        print(json.dumps({
            "keras": keras.__name__,
            "warnings": [str(w.message) for w in caught
                         if issubclass(w.category, RuntimeWarning)],
            "finders": [type(f).__name__ for f in sys.meta_path].count(
                "_RegisterWithKeras"),
        }))
        """,
        tmp_path,
    )
    info = _last_json(out)
    assert info["keras"] == "keras"
    assert info["finders"] == 0
    assert len(info["warnings"]) == 1
    assert "simulated failure" in info["warnings"][0]
    assert "vaekit.model.vae" in info["warnings"][0]


def test_other_imports_pass_through_untouched(tmp_path):
    out = _python(
        """
        import json, sys
        import vaekit
        import json as j2, numpy, email.mime.text
        finder = next(f for f in sys.meta_path
                      if type(f).__name__ == "_RegisterWithKeras")
        print(json.dumps({
            "numpy": type(numpy.__loader__).__name__,
            "none": finder.find_spec("numpy", None) is None,
            "sub": finder.find_spec("keras.src", None) is None,
            "missing": finder.find_spec("vaekit.no_such_module", None) is None,
        }))
        """,
        tmp_path,
    )
    assert _last_json(out) == {
        "numpy": "SourceFileLoader",
        "none": True,
        "sub": True,
        "missing": True,
    }


def test_cli_help_does_not_import_keras(tmp_path):
    out = _python(
        """
        import json, sys
        import vaekit.cli.main
        vaekit.cli.main.build_parser()
        print(json.dumps({"keras": "keras" in sys.modules,
                          "tensorflow": "tensorflow" in sys.modules}))
        """,
        tmp_path,
    )
    assert _last_json(out) == {"keras": False, "tensorflow": False}
    result = subprocess.run(
        [sys.executable, "-m", "vaekit.cli.main", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: vaekit" in result.stdout
    assert result.stderr == ""
