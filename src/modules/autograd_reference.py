"""The same net and loss as ``kernels``, written with torch ops so that autograd derives
the gradients. It is the oracle the explicit kernels are tested against and the
baseline ``benchmarks/bench_actor.py`` times them against; training never uses it."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F

from .kernels import LossSettings, StepBatch


def batch_tensors(batch: StepBatch) -> dict[str, torch.Tensor]:
    """The batch's arrays as tensors (sharing memory)."""
    return {
        "features": torch.from_numpy(batch.features),
        "rule_embedding": torch.from_numpy(batch.rule_embedding),
        "rule_index": torch.from_numpy(np.asarray(batch.rule_index, dtype=np.int64)),
        "approved": torch.from_numpy(batch.approved),
        "advantage": torch.from_numpy(batch.advantage),
        "value_target": torch.from_numpy(batch.value_target),
    }


def reference_forward(
    params: Mapping[str, torch.Tensor], batch: Mapping[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """(score, value prediction) per row, as differentiable tensors."""
    h = torch.relu(batch["features"] @ params["w1"] + params["b1"])
    e = h @ params["expr_proj_w"] + params["expr_proj_b"]
    v_h = torch.relu(e @ params["value_w1"] + params["value_b1"])
    v = v_h @ params["value_w2"] + params["value_b2"]
    m_h = torch.relu(torch.cat([e, v[:, None]], dim=1) @ params["mask_w1"] + params["mask_b1"])
    f = m_h @ params["mask_w2"] + params["mask_b2"]
    score = ((f @ params["interaction"]) * batch["rule_embedding"]).sum(dim=1)
    score = score + params["rule_bias"][batch["rule_index"]]
    return score, v


def reference_losses(
    params: Mapping[str, torch.Tensor], batch: Mapping[str, torch.Tensor], loss: LossSettings
) -> dict[str, torch.Tensor]:
    """Loss parts and their weighted total, as differentiable tensors."""
    score, v = reference_forward(params, batch)
    a = batch["approved"]
    log_pi = -(a * F.softplus(-score) + (1 - a) * F.softplus(score))
    p = torch.sigmoid(score)
    entropy = (p * F.softplus(-score) + (1 - p) * F.softplus(score)).mean()
    policy = (-log_pi * batch["advantage"]).mean()
    value = ((v - batch["value_target"]) ** 2).mean()
    total = policy - loss.entropy_coeff * entropy + loss.value_coeff * value
    return {"policy": policy, "value": value, "entropy": entropy, "total": total}
