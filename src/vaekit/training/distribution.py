"""Data-parallel training with Keras' distribution API, on every JAX device
of one process or of several."""

import os

import keras

from vaekit.errors import InvalidArgument

__all__ = ["distribute"]


def distribute(coordinator=None, num_processes=None, process_id=None):
    """Data-parallel training with Keras' distribution API: variables are
    replicated and every batch is split over all JAX devices (GPUs, TPUs, or
    CPU devices), of one process or of several.

    With several processes (one per host, usually), every process calls
    this with the same `coordinator` (`HOST:PORT` of process 0) and
    `num_processes` and its own `process_id`, or with `None` for the
    `KERAS_DISTRIBUTION_JOB_ADDRESSES`, `..._NUM_PROCESSES` and
    `..._PROCESS_ID` variables, and `keras.distribution.initialize()` joins
    them into one JAX cluster; CPU devices exchange gradients over gloo.

    Returns:
        `(devices, (process_index, process_count))`: the number of devices
        of all processes, and this process's place among them.

    Raises:
        InvalidArgument: if the backend is not JAX, or the process flags are
            incomplete.
    """
    if keras.backend.backend() != "jax":
        raise InvalidArgument(
            "data-parallel training (distribute) needs the jax backend"
        )
    import jax

    given = (coordinator, num_processes, process_id)
    if coordinator or os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES"):
        # jaxlib's CPU client has no cross-process collectives unless told
        # which library to use; gloo ships with jaxlib (GPUs use NCCL).
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        keras.distribution.initialize(coordinator, num_processes, process_id)
    elif any(value is not None for value in given):
        raise InvalidArgument(
            "num_processes and process_id need a coordinator HOST:PORT (or "
            "KERAS_DISTRIBUTION_JOB_ADDRESSES): the address of process 0"
        )
    devices = keras.distribution.list_devices()
    # Each process feeds its own rows of every global batch (TrainingBatches'
    # `process`): Keras' auto-sharding is for tf.data datasets.
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)
    )
    return len(devices), (jax.process_index(), jax.process_count())
