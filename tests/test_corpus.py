"""The FPBench corpus: what parses, what does not and why, and loading by name."""

import pytest

from src.data.corpus import corpus_dir, corpus_files, load_corpus, load_file, load_kernel
from src.expr import Kernel


def test_corpus_ships_with_its_license():
    assert (corpus_dir() / "LICENSE.md").is_file()


def test_whole_corpus_parses():
    kernels, errors = load_corpus()
    assert len(kernels) >= 120
    assert errors == []  # every FPCore in it is supported; see the closing note if not


@pytest.mark.parametrize("prefix", ["graphics-pbrt", "graphics-fidget-", "hamming-"])
def test_required_families_parse_completely(prefix):
    stems = [s for s in corpus_files() if s.startswith(prefix)]
    assert stems
    for stem in stems:
        assert all(isinstance(k, Kernel) for k in load_file(stem)), stem


def test_fidget_kernels_share_subtrees():
    fidget = [k for s in corpus_files() if s.startswith("graphics-fidget-") for k in load_file(s)]
    assert len(fidget) == 6
    for kernel in fidget:
        assert kernel.body.dag_nodes < kernel.body.tree_nodes, kernel.name
    prospero = load_file("graphics-fidget-prospero")[0].body
    assert prospero.tree_nodes > 14_000 > prospero.dag_nodes


def test_kernels_load_by_name_with_suggestions():
    kernel = load_kernel("HairBSDF, Mp, upper")
    assert kernel.args == ("cosTheta_i", "cosTheta_O", "sinTheta_i", "sinTheta_O", "v")
    with pytest.raises(KeyError, match="did you mean"):
        load_kernel("HairBSDF Mp upper")
    with pytest.raises(KeyError, match="graphics-pbrt"):
        load_file("graphics-pbr")


def test_the_validation_band_splits_the_training_half_and_leaves_the_held_out_share():
    from src.data.corpus import trainable, trainable_kernels, validates

    seeds = trainable_kernels(0.5, 60, 0.1)
    band = trainable_kernels(0.5, 60, 0.1, in_band=True)
    assert len(band) >= 10 and len(seeds) >= 40
    assert {k.name for k in seeds} | {k.name for k in band} == {
        k.name for k in trainable_kernels(0.5, 60)
    }
    assert not {k.name for k in seeds} & {k.name for k in band}
    held_out = [k for k in load_corpus()[0] if not trainable(k, 0.5, 10**6)]
    assert held_out and not any(validates(k, 0.5, 0.1) for k in held_out)
    assert trainable_kernels(0.5, 60, 0.0, in_band=True) == ()
