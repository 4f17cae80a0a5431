"""Atomic writes: the target is replaced whole or not at all, and no temp file stays."""

import pytest

from src.atomic import write_bytes_atomic, write_text_atomic


def test_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "table.yaml"
    target.write_text("old\n")
    write_text_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.yaml"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "table.yaml"
    target.write_text("old\n")
    with pytest.raises(TypeError):
        write_bytes_atomic(target, None)  # type: ignore[arg-type]
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.yaml"]
