"""The model: `VAE`, its layers and networks, likelihoods, priors and
objectives, and saving and loading.

Importing this package registers vaekit's serializable classes with keras
(`vaekit>VAE`, `vaekit>Sampling`, `vaekit>DataTransform` and the conv
layers), so that `keras.saving.load_model` finds them.
"""

from vaekit.model.conv import MatmulConv2D, SubpixelConv2DTranspose
from vaekit.model.layers import DataTransform, Sampling
from vaekit.model.likelihoods import Bernoulli, Gaussian, InDataUnits
from vaekit.model.networks import build_decoder, build_encoder
from vaekit.model.priors import StandardNormal
from vaekit.model.saving import load_model
from vaekit.model.tasks import encode, reconstruct, sample
from vaekit.model.vae import VAE

__all__ = [
    "VAE",
    "Bernoulli",
    "DataTransform",
    "Gaussian",
    "InDataUnits",
    "MatmulConv2D",
    "Sampling",
    "StandardNormal",
    "SubpixelConv2DTranspose",
    "build_decoder",
    "build_encoder",
    "encode",
    "load_model",
    "reconstruct",
    "sample",
]
