"""Atomic writes: what lands at the destination, and what is left beside it."""

import os

import pytest

from vidfuse.fileio import atomic_path, atomic_write_text, check_writable

needs_links = pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="needs symbolic links")


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    dest = tmp_path / "a.txt"
    dest.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(dest) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert dest.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


@needs_links
def test_a_link_is_written_through_and_stays_a_link(tmp_path):
    """A probe: writing to a symbolic link replaced the link with a plain file and left its target stale."""
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "out.txt"
    target.write_text("old")
    link = tmp_path / "latest.txt"
    link.symlink_to(target)
    check_writable(link)
    atomic_write_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new" and link.read_text() == "new"
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["out.txt"]  # no temporary left


@needs_links
def test_a_dangling_link_gets_its_target_made(tmp_path):
    (tmp_path / "real").mkdir()
    link = tmp_path / "next.txt"
    link.symlink_to(tmp_path / "real" / "made.txt")
    atomic_write_text(link, "made")
    assert link.is_symlink() and (tmp_path / "real" / "made.txt").read_text() == "made"
