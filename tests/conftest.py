"""Shared pytest setup: pick the JAX backend before anything imports keras,
and share JAX's compilation cache between the tests and their subprocesses.

Most tests train a tiny model; compiling its steps costs more than running
them. JAX's persistent cache (keyed by the compiled program, its options and
devices) lets a test reuse what an earlier test compiled for the same shapes.
The cache lives in a fresh temporary folder per session, so no run reads a
stale entry, and it is set through the environment, so that every `vaekit`
subprocess a test starts shares it.
"""

import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="vaekit-jax-")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")
