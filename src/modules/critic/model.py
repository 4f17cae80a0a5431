"""The critic's network: a causal transformer encoder that reads a trajectory's steps
(accumulator state and rule embedding, 130 + 24 floats each) and gives V_t for every
step t from steps 0..t only.

It is the seed's model (input projection, sinusoidal positions, post-norm encoder layers
with a ReLU feed-forward, a linear value head), with the encoder layer written out so
that it can use ``scaled_dot_product_attention`` with ``is_causal`` (no mask tensor;
the causal kernel skips the masked half) and a cheaper dropout on the CPU. Measured on
2 CPU cores (50 trajectories x 200 steps x 50 epochs), these two took training from
about 65 s to about 20 s: with ``nn.TransformerEncoderLayer``, drawing dropout masks
(``bernoulli_``) was a third of the time, most of it for the attention weights, which is
why ``attention_dropout`` is a separate setting (0 by default).

Batches are right-padded. Step t attends to steps <= t only, so a real step never sees
padding (which comes after every real step): a trajectory's values are the same alone
and in any padded batch, and padded positions are left out of the loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

_MASK_BITS = 16


@dataclass(frozen=True)
class CriticModelSettings:
    """``critic.model`` in conf."""

    d_model: int
    nhead: int
    num_layers: int
    ff_mult: int
    dropout: float
    attention_dropout: float

    def __post_init__(self) -> None:
        if min(self.d_model, self.nhead, self.num_layers, self.ff_mult) < 1:
            raise ValueError("critic.model widths and counts must be >= 1")
        if self.d_model % self.nhead or (self.d_model // self.nhead) % 2:
            raise ValueError(
                f"critic.model.d_model ({self.d_model}) must split into {self.nhead} heads "
                "of an even width"
            )
        if not (0.0 <= self.dropout < 1.0 and 0.0 <= self.attention_dropout < 1.0):
            raise ValueError("critic.model dropout rates must be in [0, 1)")


class Dropout(nn.Module):
    """Inverted dropout. On the CPU the keep-mask comes from 16 random bits per element
    drawn with numpy's PCG64 (several times faster than torch's ``bernoulli_`` there);
    the rate is rounded to a multiple of 2^-16 and kept values are scaled by the exact
    inverse of the keep probability, so the expectation is unchanged. On other devices
    it is ``F.dropout``."""

    def __init__(self, p: float, rng: np.random.Generator) -> None:
        super().__init__()
        self.p = p
        self.rng = rng
        self.threshold = round(p * 2**_MASK_BITS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.threshold == 0:
            return x
        if x.device.type != "cpu":
            return F.dropout(x, self.p, training=True)
        count = x.numel()
        bits = self.rng.bit_generator.random_raw((count + 3) // 4).view(np.uint16)[:count]
        keep = torch.from_numpy(bits >= self.threshold).view(x.shape)
        scale = 2**_MASK_BITS / (2**_MASK_BITS - self.threshold)
        return x * keep.to(x.dtype) * scale


class CausalEncoderLayer(nn.Module):
    """Post-norm encoder layer: x = norm1(x + drop(attn(x))); x = norm2(x + drop(ff(x)))
    with ff = linear2(drop(relu(linear1(x)))), as ``nn.TransformerEncoderLayer``."""

    def __init__(self, settings: CriticModelSettings, rng: np.random.Generator) -> None:
        super().__init__()
        d, ff = settings.d_model, settings.ff_mult * settings.d_model
        self.nhead = settings.nhead
        self.attention_dropout = settings.attention_dropout
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.linear1 = nn.Linear(d, ff)
        self.linear2 = nn.Linear(ff, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.drop_attention_out = Dropout(settings.dropout, rng)
        self.drop_hidden = Dropout(settings.dropout, rng)
        self.drop_ff_out = Dropout(settings.dropout, rng)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, steps, width = x.shape
        heads = self.qkv(x).view(batch, steps, 3, self.nhead, width // self.nhead)
        q, k, v = heads.permute(2, 0, 3, 1, 4)
        dropout = self.attention_dropout if self.training else 0.0
        with torch.autocast(x.device.type, enabled=False):  # see _attention_precision
            q, k, v = (t.to(_attention_dtype(x)) for t in (q, k, v))
            attended = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)
        attended = attended.transpose(1, 2).reshape(batch, steps, width)
        x = self.norm1(x + self.drop_attention_out(self.out(attended)))
        hidden = self.drop_hidden(F.relu(self.linear1(x)))
        return self.norm2(x + self.drop_ff_out(self.linear2(hidden)))


def _attention_dtype(x: torch.Tensor) -> torch.dtype:
    """Attention runs in float32 on the CPU even under bf16 autocast: there the causal
    kernel's backward pass was measured about 2.8x slower in bf16 than in float32."""
    return torch.float32 if x.device.type == "cpu" else x.dtype


def sinusoidal_positions(steps: int, width: int) -> torch.Tensor:
    """(steps, width): sin on even columns, cos on odd, wavelengths 2*pi to 10000*2*pi."""
    position = torch.arange(steps, dtype=torch.float32)[:, None]
    rates = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    table = torch.zeros(steps, width)
    table[:, 0::2] = torch.sin(position * rates)
    table[:, 1::2] = torch.cos(position * rates)
    return table


class CriticTransformer(nn.Module):
    """(batch, steps, input_dim) -> V (batch, steps)."""

    def __init__(self, input_dim: int, settings: CriticModelSettings, seed: int) -> None:
        super().__init__()
        self.input_dim = input_dim
        rng = np.random.default_rng(seed)
        self.input_proj = nn.Linear(input_dim, settings.d_model)
        self.layers = nn.ModuleList(
            CausalEncoderLayer(settings, rng) for _ in range(settings.num_layers)
        )
        self.value_head = nn.Linear(settings.d_model, 1)
        self.register_buffer("positions", torch.zeros(0, settings.d_model), persistent=False)

    def reseed(self, seed: int) -> None:
        """Restart the dropout masks' random stream from ``seed``."""
        rng = np.random.default_rng(seed)
        for module in self.modules():
            if isinstance(module, Dropout):
                module.rng = rng

    def forward(self, steps: torch.Tensor) -> torch.Tensor:
        length, width = steps.shape[1], self.positions.shape[1]
        if len(self.positions) < length:
            grown = sinusoidal_positions(max(length, 2 * len(self.positions)), width)
            self.positions = grown.to(self.positions.device)
        h = self.input_proj(steps) + self.positions[:length]
        for layer in self.layers:
            h = layer(h)
        return self.value_head(h).squeeze(-1)
