"""One backend's share of tests/model/test_latents.py:

    KERAS_BACKEND=tensorflow python latent_worker.py DIR

loads the JAX-saved models in DIR, computes the VampPrior model's log
weights on the saved noise, trains each model two more epochs and prints
one JSON line: `backend`, `log_weights`, `losses` and `moved` (the largest
change of a weight).
"""

import json
import os
import sys

import numpy as np

import vaekit

folder = sys.argv[1]
import keras  # noqa: E402

probe = np.load(os.path.join(folder, "probe.npz"))
x, epsilon = probe["x"], probe["epsilon"]
result = {"backend": keras.backend.backend(), "losses": {}}
for name in ("vamp_dreg", "flow_two_layer"):
    model = vaekit.load_model(os.path.join(folder, f"{name}.keras"))
    if name == "vamp_dreg":
        log_w = model.log_importance_weights(x[:5], 2, epsilon=epsilon)
        result["log_weights"] = keras.ops.convert_to_numpy(log_w).tolist()
    before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(x[:100], epochs=2, batch_size=50, verbose=0).history
    result["losses"][name] = [float(v) for v in history["loss"]]
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    result.setdefault("moved", {})[name] = max(
        float(np.abs(a - b).max()) for a, b in zip(after, before, strict=True)
    )
print(json.dumps(result))
