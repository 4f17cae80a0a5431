"""The actor weight file: ExprNnue alone, without Lightning or optimizer state.

Layout: the magic ``PXFACTOR``, the format version (uint32, little-endian), the header
length (uint32), a JSON header (widths, feature settings, node kinds, rule names, and
each array's name, shape and byte offset), the arrays (float32, little-endian, C order),
and last the SHA-256 of everything before it. A file with the wrong magic, another
version, a bad checksum, or widths or node kinds this code does not have is refused with
an ``ActorWeightsError`` that names the file and the reason.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from src.atomic import write_bytes_atomic

from .features import NODE_KINDS, FeatureSettings
from .kernels import NetShape
from .nnue import ExprNnue

MAGIC = b"PXFACTOR"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<8sII")  # magic, version, header length
_DIGEST_BYTES = 32
_STORED = np.dtype("<f4")


class ActorWeightsError(ValueError):
    """An actor weight file that cannot be read as one."""


def save_actor_weights(path: Path, net: ExprNnue, rule_names: Sequence[str] = ()) -> None:
    """Write ``net`` (trained and fixed arrays) to ``path`` atomically."""
    arrays = {**net.params, **net.fixed}
    entries, chunks, offset = [], [], 0
    for name, array in arrays.items():
        data = np.ascontiguousarray(array, dtype=_STORED).tobytes()
        entries.append({"name": name, "shape": list(array.shape), "offset": offset})
        chunks.append(data)
        offset += len(data)
    header = {
        "shape": asdict(net.shape),
        "features": asdict(net.feature_settings),
        "node_kinds": list(NODE_KINDS),
        "rules": list(rule_names),
        "arrays": entries,
    }
    header_bytes = json.dumps(header, sort_keys=True).encode("utf-8")
    body = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(header_bytes)) + header_bytes
    body += b"".join(chunks)
    write_bytes_atomic(Path(path), body + hashlib.sha256(body).digest())


def check_rule_table(saved: Sequence[str], rules: Sequence[str], where: str) -> None:
    """ActorWeightsError naming ``where`` when an actor trained for the rules ``saved``
    is to score another table ``rules`` (its rule biases are per position)."""
    if list(saved) == list(rules):
        return
    differs = next(
        (
            f"rule {k} is {there!r} there and {here!r} here"
            for k, (there, here) in enumerate(zip(saved, rules, strict=False))
            if there != here
        ),
        f"{len(saved)} rules there, {len(rules)} here",
    )
    raise ActorWeightsError(
        f"{where}: the actor in it was trained for another rule table ({differs})"
    )


def load_actor_weights(
    path: Path, dtype: type = np.float32, rules: Sequence[str] | None = None
) -> tuple[ExprNnue, list[str]]:
    """The net stored in ``path`` and the rule names saved with it; with ``rules`` (the
    table it is to score), a file trained for another table is refused."""
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as error:
        raise ActorWeightsError(f"{path}: cannot read: {error.strerror}") from None
    if len(blob) < _PREFIX.size + _DIGEST_BYTES or blob[: len(MAGIC)] != MAGIC:
        raise ActorWeightsError(f"{path}: not a pixelflow actor weight file")
    _, version, header_length = _PREFIX.unpack_from(blob)
    if version != FORMAT_VERSION:
        raise ActorWeightsError(
            f"{path}: actor weight format version {version}; this pixelflow reads "
            f"version {FORMAT_VERSION}"
        )
    body, digest = blob[:-_DIGEST_BYTES], blob[-_DIGEST_BYTES:]
    if hashlib.sha256(body).digest() != digest:
        raise ActorWeightsError(f"{path}: checksum mismatch: the file is corrupt or truncated")
    try:
        header = json.loads(body[_PREFIX.size : _PREFIX.size + header_length])
        net = _net_from(header, body[_PREFIX.size + header_length :], dtype)
        saved = header["rules"]
    except (KeyError, TypeError, ValueError) as error:
        raise ActorWeightsError(f"{path}: {error}") from None
    if rules is not None:
        check_rule_table(saved, rules, str(path))
    return net, saved


def _net_from(header: dict, payload: bytes, dtype: type) -> ExprNnue:
    if header["node_kinds"] != list(NODE_KINDS):
        raise ValueError(
            "the file was written for another op table (its node kinds differ from this one's)"
        )
    shape = NetShape(**header["shape"])
    features = FeatureSettings(**header["features"])
    arrays = {}
    for entry in header["arrays"]:
        count = int(np.prod(entry["shape"], dtype=np.int64))
        end = entry["offset"] + count * _STORED.itemsize
        if entry["offset"] < 0 or end > len(payload):
            raise ValueError(f"array '{entry['name']}' lies outside the file")
        data = np.frombuffer(payload, dtype=_STORED, count=count, offset=entry["offset"])
        arrays[entry["name"]] = data.reshape(entry["shape"]).astype(dtype)
    trained = {name: arrays.pop(name) for name in shape.param_shapes() if name in arrays}
    return ExprNnue(shape, features, trained, arrays)
