"""vaekit beside pytorch/examples' VAE, and beside the machine's own limit,
measured in one run.

    python benchmarks/peers.py --mnist-dir DIR [--epochs 10] [--out FILE.json]

The same model and recipe (pytorch/examples `vae/main.py`: an MLP 784-400-20
with ReLU, a Bernoulli likelihood on greyscale digits, the plain ELBO, Adam
1e-3, batch 128) trained on the 60,000 MNIST training images by

1. `torch`: a PyTorch baseline written as pytorch/examples writes it (its
   `VAE` module, `loss_function` and `train`/`test` loops; the data from
   arrays through a `DataLoader` instead of torchvision's download);
2. `vaekit`: `vaekit.training`'s model and batches (`build_model`,
   `TrainingBatches`) with the `pytorch-examples` preset;
3. `vaekit_fast`: the same model with vaekit's faster schedule (the
   `pytorch-examples-fast` preset: Adam with a warm-up and a cosine decay,
   5 epochs).

For each: seconds per epoch and the test loss (the negative ELBO per test
image, one sample of z, as pytorch/examples reports it) after each epoch,
the epochs and seconds until the test loss is at most 105.6 (pytorch/examples'
published figure), and the training images per second as a fraction of a
jitted 1024x1024 float32 matmul measured in the same run.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402

TARGET = 105.6
HERE = os.path.dirname(os.path.abspath(__file__))


def train_flops(sizes):
    """FLOPs of one training step per image of an MLP with layer `sizes`:
    the forward matmuls, the weight gradients, and the input gradients of
    every layer but the first (2 FLOPs per multiply-add)."""
    forward = sum(2 * a * b for a, b in sizes)
    return 2 * forward + sum(2 * a * b for a, b in sizes[1:])


# 784-400-(20+20) encoder, 20-400-784 decoder.
LAYERS = [(784, 400), (400, 40), (20, 400), (400, 784)]
FLOPS_PER_IMAGE = train_flops(LAYERS)


def write_result(result, path):
    """Prints `result` and writes it to `path` as JSON (folders made)."""
    print(json.dumps(result, indent=2))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as handle:
        json.dump(result, handle, indent=2)


def child_result(arguments, what):
    """Runs `python ARGUMENTS` in a fresh process whose environment lacks
    KERAS_BACKEND (the child chooses its own) and returns the JSON its
    `RESULT {...}` line printed; exits naming `what` if it failed."""
    import subprocess

    environment = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    done = subprocess.run(
        [sys.executable, *arguments], stdout=subprocess.PIPE, text=True, env=environment
    )
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT")]
    if done.returncode or not line:
        raise SystemExit(f"{what}: failed ({done.returncode})")
    return json.loads(line[0].split(" ", 1)[1])


def matmul_rate(n=1024, repeats=30):
    """GFLOP/s of a jitted n x n float32 matmul (the best of 5 timings)."""
    import jax
    import jax.numpy as jnp

    a = jnp.asarray(np.random.default_rng(0).random((n, n), dtype=np.float32))
    f = jax.jit(lambda a, b: a @ b)
    f(a, a).block_until_ready()
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            out = f(a, a)
        out.block_until_ready()
        best = max(best, 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9)
    return best


def run_torch(x_train, x_test, epochs, seed):
    """pytorch/examples' VAE, its loss and loops, on arrays."""
    import torch
    from torch import nn, optim
    from torch.nn import functional as F
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(seed)

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 400)
            self.fc21 = nn.Linear(400, 20)
            self.fc22 = nn.Linear(400, 20)
            self.fc3 = nn.Linear(20, 400)
            self.fc4 = nn.Linear(400, 784)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar):
            std = torch.exp(0.5 * logvar)
            eps = torch.randn_like(std)
            return mu + eps * std

        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            return torch.sigmoid(self.fc4(h3))

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 784))
            z = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar

    def loss_function(recon_x, x, mu, logvar):
        bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return bce + kld

    model = VAE()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    train_loader = DataLoader(
        TensorDataset(torch.from_numpy(x_train)), batch_size=128, shuffle=True
    )
    test_loader = DataLoader(
        TensorDataset(torch.from_numpy(x_test)), batch_size=128, shuffle=False
    )
    seconds, losses = [], []
    for _ in range(epochs):
        model.train()
        start = time.perf_counter()
        for (data,) in train_loader:
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for (data,) in test_loader:
                recon_batch, mu, logvar = model(data)
                test_loss += loss_function(recon_batch, data, mu, logvar).item()
        losses.append(test_loss / len(x_test))
    return {"seconds_per_epoch": seconds, "test_loss": losses}


def run_vaekit(x_train, x_test, preset, epochs, seed):
    """vaekit's model and training batches, with the settings of `preset`."""
    import keras

    from vaekit.config import resolve
    from vaekit.evaluation.likelihood import evaluate
    from vaekit.training import build_model
    from vaekit.training.batches import TrainingBatches

    overrides = {"seed": seed, "backend": "jax"}
    if epochs is not None:
        overrides["epochs"] = epochs
    config = resolve(preset=preset, overrides=overrides)
    keras.utils.set_random_seed(seed)
    steps = -(-len(x_train) // config.batch_size)
    # Adapted to the training data as vaekit.train does (the data-mean output
    # bias of the -fast preset included).
    model = build_model(config, x_train, steps_per_epoch=steps)
    batches = TrainingBatches(x_train, config.batch_size, "none", seed=seed)
    seconds, losses = [], []
    for epoch in range(config.epochs):
        batches.set_epoch(epoch)
        start = time.perf_counter()
        model.fit(batches, initial_epoch=epoch, epochs=epoch + 1, verbose=0)
        seconds.append(time.perf_counter() - start)
        elbo = evaluate(model, x_test, iw_samples=1, seed=epoch)["elbo"]
        losses.append(-elbo)
    return {
        "preset": preset,
        "learning_rate": config.learning_rate,
        "lr_schedule": config.lr_schedule,
        "epochs": config.epochs,
        "seconds_per_epoch": seconds,
        "test_loss": losses,
    }


def summarise(result, n_train, rate):
    seconds, losses = result["seconds_per_epoch"], result["test_loss"]
    # The first epoch includes compilation (vaekit); the median is the rate.
    median = float(np.median(seconds))
    reached = next((i for i, loss in enumerate(losses) if loss <= TARGET), None)
    images_per_s = n_train / median
    result.update(
        median_seconds_per_epoch=median,
        images_per_s=images_per_s,
        gflops=images_per_s * FLOPS_PER_IMAGE / 1e9,
        fraction_of_matmul=images_per_s * FLOPS_PER_IMAGE / 1e9 / rate,
        final_test_loss=losses[-1],
        epochs_to_target=None if reached is None else reached + 1,
        seconds_to_target=None if reached is None else sum(seconds[: reached + 1]),
    )
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist-dir", default=os.environ.get("VAEKIT_MNIST_DIR"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="torch,vaekit,vaekit_fast")
    parser.add_argument("--out", default=os.path.join(HERE, "out", "peers.json"))
    args = parser.parse_args()
    if not args.mnist_dir:
        sys.exit(f"{sys.argv[0]}: error: pass --mnist-dir DIR or set VAEKIT_MNIST_DIR")
    from vaekit import data

    dataset = data.load(args.mnist_dir)
    x_train = dataset.x_train.reshape(len(dataset.x_train), -1).astype(np.float32)
    x_test = dataset.x_test.reshape(len(dataset.x_test), -1).astype(np.float32)
    rate = matmul_rate()
    print(f"matmul 1024^2: {rate:.1f} GFLOP/s", flush=True)
    results = {
        "matmul_gflops": rate,
        "flops_per_image": FLOPS_PER_IMAGE,
        "n_train": len(x_train),
        "n_test": len(x_test),
        "target_test_loss": TARGET,
    }
    only = args.only.split(",")
    runs = {
        "torch": lambda: run_torch(x_train, x_test, args.epochs, args.seed),
        "vaekit": lambda: run_vaekit(
            x_train, x_test, "pytorch-examples", args.epochs, args.seed
        ),
        "vaekit_fast": lambda: run_vaekit(
            x_train, x_test, "pytorch-examples-fast", None, args.seed
        ),
    }
    for name in only:
        result = summarise(runs[name](), len(x_train), rate)
        results[name] = result
        print(
            f"{name}: {result['median_seconds_per_epoch']:.2f} s/epoch, "
            f"{result['images_per_s']:.0f} images/s = "
            f"{result['fraction_of_matmul']:.2f} of the matmul; test loss "
            + " ".join(f"{v:.2f}" for v in result["test_loss"])
            + f"; <= {TARGET} after {result['epochs_to_target']} epochs",
            flush=True,
        )
    results["matmul_gflops_after"] = matmul_rate()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(results, handle, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
