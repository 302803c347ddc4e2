"""The probability computations of a VAE, as a mixin of `VAE`: the
posterior q(z|x), the log importance weights log p(x, z) - log q(z|x), the
one-sample ELBO terms and the training objective per example, all in
`keras.ops`.

They use the model's networks, its likelihood object (`distribution`), its
prior and its sampling layer's random stream; `VAE.compute_loss`,
`vaekit.evaluation` and the tests build on them.
"""

import keras
from keras import ops

from vaekit.errors import InvalidArgument
from vaekit.model.objectives import (
    dreg_codes,
    free_bits_kl,
    importance_weighted_bound,
    log_density_of_draw,
    reparameterize,
    trimmed_weights,
    weighted_mean,
)

__all__ = ["Inference"]


class Inference:
    """The VAE's probability computations (see the module docstring)."""

    def _split(self, inputs):
        """`(x, condition)` of the model's inputs: `x`, or `(x, y)`."""
        if isinstance(inputs, (tuple, list)):
            return inputs[0], (inputs[1] if len(inputs) > 1 else None)
        return inputs, None

    def _with_condition(self, first, condition):
        """The input of the encoder (`first = x`) or decoder (`first = z`):
        `first`, or `[first, condition]` for a conditional model.

        Raises:
            InvalidArgument: if a conditional model gets no condition.
        """
        if not self.conditional:
            return first
        self._require_condition(condition)
        condition = ops.cast(condition, first.dtype)
        return [first, ops.reshape(condition, (-1, *self.condition_shape))]

    @staticmethod
    def _require_condition(condition):
        if condition is None:
            raise InvalidArgument(
                "This conditional VAE needs the condition (label) of every "
                "example, and none was given: give the labels of the data"
            )

    def posterior(self, x, training=False, condition=None):
        """Returns `(z_mean, q_log_var)`: q(z|x) (q(z|x, y) with a
        `condition`) as it is sampled, with `epsilon_std` folded into the
        log-variance."""
        self._require_networks()
        x = ops.convert_to_tensor(x)
        z_mean, z_log_var = self.encoder(
            self._with_condition(x, condition), training=training
        )
        return z_mean, z_log_var + self._log_eps_var

    def _decode_params(self, z, condition, training=False):
        return self.decoder(self._with_condition(z, condition), training=training)

    def _noise(self, like, seed=None, epsilon=None):
        """Standard normal noise of the shape of `like`: drawn from `seed`
        (default: the sampling layer's stream), or `epsilon` reshaped."""
        if epsilon is None:
            return keras.random.normal(
                ops.shape(like),
                dtype=like.dtype,
                seed=self.sampling.seed_generator if seed is None else seed,
            )
        return ops.reshape(ops.cast(epsilon, like.dtype), ops.shape(like))

    def log_importance_weights(
        self, x, k=1, seed=None, training=False, epsilon=None, condition=None
    ):
        """`log p(x, z_i) - log q(z_i|x)` for `k` draws `z_i ~ q(z|x)`.

        Args:
            x: Tensor of shape `(batch, *data_shape)`.
            k: Number of draws per example.
            seed: A `keras.random.SeedGenerator` or integer; default: the
                model's sampling layer.
            training: Passed to the encoder and decoder.
            epsilon: Optional standard normal noise of shape
                `(k, batch, latent_dim)`, used instead of drawing it:
                `keras.random` streams differ between backends, so the same
                `epsilon` is how JAX, TensorFlow and PyTorch give the same
                weights.
            condition: The labels `y` of a conditional model.

        Returns:
            Tensor of shape `(k, batch)`.
        """
        log_px_z, log_prior_ratio, _ = self._importance_terms(
            x, k, seed=seed, training=training, epsilon=epsilon, condition=condition
        )
        return log_px_z + log_prior_ratio

    def _prior_seed(self, seed):
        """The stream of the prior's own draws (a second stochastic layer's)
        beside the codes' stream `seed`: the same generator (it moves on),
        or, for a fixed seed or key, another one derived from it."""
        if seed is None:
            return self.sampling.seed_generator
        if isinstance(seed, keras.random.SeedGenerator):
            return seed
        if isinstance(seed, int):
            return (seed + 1) % 2**31
        drawn = keras.random.randint((2,), 0, 2**31 - 1, seed=seed)
        return ops.cast(drawn, "uint32")

    def _importance_terms(
        self,
        x,
        k,
        seed=None,
        training=False,
        epsilon=None,
        condition=None,
        dreg_weight=None,
    ):
        """`(log p(x|z_i), log p(z_i) - log q(z_i|x), (z_mean, q_log_var))`,
        the first two of shape `(k, batch)`: one encoder pass and one decoder
        pass over `k * batch` codes.

        With `dreg_weight` (the KL weight of the step) the codes pass
        through `dreg_codes` and log q is taken with its parameters held:
        the gradient of the bound is then DReG's (see `dreg_codes`)."""
        z_mean, q_log_var = self.posterior(x, training=training, condition=condition)
        batch = ops.shape(z_mean)[0]
        mean_k = ops.tile(z_mean, (k, 1))
        log_var_k = ops.tile(q_log_var, (k, 1))
        # Row i * batch + j of the tiled codes is draw i of example j.
        if epsilon is None:
            # Drawn example-major, so that an example's draws do not depend on
            # the batch's size: a batch padded for --distribute draws for its
            # real rows what one device draws.
            like = ops.tile(ops.expand_dims(z_mean, 1), (1, k, 1))
            epsilon = ops.transpose(self._noise(like, seed), (1, 0, 2))
        epsilon = self._noise(mean_k, seed, epsilon)
        z = reparameterize(mean_k, log_var_k, epsilon)
        zero = 0.0
        if dreg_weight is not None:
            codes = dreg_codes(z, dreg_weight, k)
            z, zero = codes[:, :-1], codes[:, -1]
            # log q(z|x) at the code, its parameters held (Tucker et al. 2018).
            held_mean, held_log_var = (
                ops.stop_gradient(t) for t in (mean_k, log_var_k)
            )
            epsilon = (z - held_mean) * ops.exp(-0.5 * held_log_var)
            log_var_k = held_log_var
        if condition is not None and self.conditional:
            condition = ops.reshape(
                ops.cast(condition, z.dtype), (-1, *self.condition_shape)
            )
            condition = ops.tile(condition, (k,) + (1,) * len(self.condition_shape))
        params = self._decode_params(z, condition, training)
        x_k = ops.tile(x, (k,) + (1,) * (len(x.shape) - 1))
        # `zero` carries DReG's weights back to `dreg_codes` (value 0).
        log_px_z = self.distribution.log_prob(x_k, params) + zero
        log_prior_ratio = self.prior.log_prob(
            z, self._prior_seed(seed)
        ) - log_density_of_draw(log_var_k, epsilon)
        return (
            ops.reshape(log_px_z, (k, batch)),
            ops.reshape(log_prior_ratio, (k, batch)),
            (z_mean, q_log_var),
        )

    def feature_log_likelihood(self, x, k=1, seed=None, epsilon=None, condition=None):
        """Each feature's part of the reconstruction term:
        `E_q(z|x)[log p(x_j|z)]` of every value `x_j`, estimated with `k`
        draws `z ~ q(z|x)`.

        Their sum over the features is the ELBO's reconstruction term; the
        features with the lowest values are where a row is least like the
        data the model learned (alibi-detect's feature scores, here in
        nats). For a table they are its columns, categorical ones included.

        Args:
            x: Tensor of shape `(batch, *data_shape)`.
            k: Number of draws per example.
            seed, epsilon, condition: As for `log_importance_weights`.

        Returns:
            Tensor of shape `(batch, *data_shape)`.
        """
        x = ops.convert_to_tensor(x)
        z_mean, q_log_var = self.posterior(x, condition=condition)
        batch = ops.shape(z_mean)[0]
        mean_k = ops.tile(z_mean, (k, 1))
        z = reparameterize(
            mean_k, ops.tile(q_log_var, (k, 1)), self._noise(mean_k, seed, epsilon)
        )
        if condition is not None and self.conditional:
            condition = ops.reshape(
                ops.cast(condition, z.dtype), (-1, *self.condition_shape)
            )
            condition = ops.tile(condition, (k,) + (1,) * len(self.condition_shape))
        params = self._decode_params(z, condition)
        x_k = ops.tile(x, (k,) + (1,) * (len(x.shape) - 1))
        values = self.distribution.log_prob_features(x_k, params)
        return ops.mean(ops.reshape(values, (k, batch, *x.shape[1:])), axis=0)

    def elbo_terms(self, x, seed=None, training=False, epsilon=None, condition=None):
        """One-sample reconstruction term and analytic KL per example.

        Args:
            x: Tensor of shape `(batch, *data_shape)`.
            seed: A `keras.random.SeedGenerator` or integer; default: the
                model's sampling layer.
            training: Passed to the encoder and decoder.
            epsilon: Optional standard normal noise of shape
                `(batch, latent_dim)`, used instead of drawing it (the same
                `epsilon` gives the same terms on every backend).
            condition: The labels `y` of a conditional model.

        Returns:
            `(reconstruction, kl)`, each of shape `(batch,)`:
            `reconstruction = -log p(x|z)` with `z ~ q(z|x)` and
            `kl = KL(q(z|x) || p(z))`. The ELBO is `-(reconstruction + kl)`.
        """
        reconstruction, _, kl = self._elbo_parts(x, seed, training, epsilon, condition)
        return reconstruction, kl

    def _elbo_parts(self, x, seed=None, training=False, epsilon=None, condition=None):
        """`(-log p(x|z), (z_mean, q_log_var), KL)` for one draw
        `z ~ q(z|x)`; the KL in closed form where the prior has one, else
        `log q(z|x) - log p(z)` at that draw."""
        z_mean, q_log_var = self.posterior(x, training=training, condition=condition)
        epsilon = self._noise(z_mean, seed, epsilon)
        z = reparameterize(z_mean, q_log_var, epsilon)
        params = self._decode_params(z, condition, training)
        kl = self._kl(z_mean, q_log_var, z, epsilon, seed)
        return -self.distribution.log_prob(x, params), (z_mean, q_log_var), kl

    def _kl(self, z_mean, q_log_var, z, epsilon, seed):
        """`KL(q(z|x) || p(z))` per code: the closed form where the prior
        has one, else `log q(z|x) - log p(z)` at the draws `z` (of noise
        `epsilon`)."""
        if self.prior.analytic_kl:
            return self.prior.kl(z_mean, q_log_var)
        return log_density_of_draw(q_log_var, epsilon) - self.prior.log_prob(
            z, self._prior_seed(seed)
        )

    def posterior_kl(self, z_mean, q_log_var, seed=0, draws=16):
        """`KL(q(z|x) || p(z))` per example of a posterior `(z_mean,
        q_log_var)`: the closed form where the prior has one, else the mean
        of `log q(z|x) - log p(z)` over `draws` codes drawn from `seed`."""
        if self.prior.analytic_kl:
            return self.prior.kl(z_mean, q_log_var)
        batch = ops.shape(z_mean)[0]
        mean_k = ops.tile(z_mean, (draws, 1))
        log_var_k = ops.tile(q_log_var, (draws, 1))
        epsilon = keras.random.normal(ops.shape(mean_k), dtype=mean_k.dtype, seed=seed)
        z = reparameterize(mean_k, log_var_k, epsilon)
        kl = self._kl(mean_k, log_var_k, z, epsilon, seed)
        return ops.mean(ops.reshape(kl, (draws, batch)), axis=0)

    def reconstruction_error(self, x, condition=None):
        """The mean over the features of `(x - x_hat)^2` per example, `x_hat`
        the mean of p(x|z = z_mean); in the model's space where it
        standardises (each feature in units of its standard deviation, each
        categorical column one-hot), else in the units of `x`."""
        z_mean, _ = self.posterior(x, condition=condition)
        params = self._decode_params(z_mean, condition if self.conditional else None)
        x_hat = self.distribution.mean(params)
        if self.transform is not None:
            x, x_hat = self.transform(x), self.transform(x_hat)
        diff = ops.reshape(x - ops.cast(x_hat, x.dtype), (ops.shape(x)[0], -1))
        return ops.mean(ops.square(diff), axis=1)

    def _objective(self, x, condition, seed, training, sample_weight):
        """`(reconstruction, kl, loss per example)` of a batch."""
        kl_weight = self._kl_weight(training)
        if self.iw_samples > 1:
            # One pass gives the bound and, for the metrics, the k-sample
            # estimates of the reconstruction term and the KL.
            log_px_z, log_prior_ratio, posterior = self._importance_terms(
                x,
                self.iw_samples,
                seed=seed,
                training=training,
                condition=condition,
                dreg_weight=kl_weight if self.dreg and training else None,
            )
            reconstruction = -ops.mean(log_px_z, axis=0)
            kl = (
                self.prior.kl(*posterior)
                if self.prior.analytic_kl
                else -ops.mean(log_prior_ratio, axis=0)
            )
        else:
            reconstruction, posterior, kl = self._elbo_parts(
                x, seed, training, condition=condition
            )
        if self.iw_samples > 1:
            # beta and warm-up weight log p(z) - log q(z|x) inside each
            # importance weight; at weight 1 this is the IWAE bound.
            return (
                reconstruction,
                kl,
                -importance_weighted_bound(log_px_z + kl_weight * log_prior_ratio),
            )
        if self.free_bits > 0:
            # One batch-level KL term, the same for every example, so the
            # (weighted) mean counts it once; `kl` stays the true KL.
            unit_kl = self.prior.unit_kl(*posterior)
            term = free_bits_kl(unit_kl, self.free_bits, sample_weight)
            return reconstruction, kl, reconstruction + kl_weight * term
        return reconstruction, kl, reconstruction + kl_weight * kl

    def _step_loss(self, per_example, sample_weight, training):
        """The loss a step minimises: the (weighted) mean of `per_example`,
        with a training batch's highest `trim_fraction` left out."""
        if training and self.trim_fraction > 0:
            sample_weight = trimmed_weights(
                per_example, self.trim_fraction, sample_weight
            )
        return weighted_mean(per_example, sample_weight)

    def _kl_weight(self, training):
        """The KL weight of this step: `beta`, ramped up over the warm-up
        (whose step count a training step advances)."""
        if self.train_steps is None:
            return self.beta
        weight = self.beta * ops.minimum(
            1.0, self.train_steps / float(self.kl_warmup_steps)
        )
        if training:
            self.train_steps.assign(self.train_steps + 1.0)
        return weight
