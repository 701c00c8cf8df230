"""Safe report writes (issue 9, item 6): devices, FIFOs, symlinks, killed writers, suffixes.

Run as root, the old writer replaced ``/dev/null`` with a regular file (``os.replace`` onto a
device node), left ``.NAME.*.tmp`` files behind when killed, wrote a workbook named ``x.md``,
and crashed on ``~nouser/x.md`` and on a 300-character name. Every test here checks the
file system afterwards, not only the error.
"""

from __future__ import annotations

import errno
import os
import pwd
import re
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from planner.cli import main
from planner.errors import InputError, PlannerError
from planner.reports import _atomic, build_report, check_suffix, write_report
from planner.reports._atomic import (
    STALE_AFTER_S,
    atomic_write,
    check_writable_target,
    remove_stale_temp_files,
    temp_name,
    writer_tag,
)

PRESET = "gtc2024-hopper"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gtc_report():
    return build_report(preset=PRESET)


def put(data: bytes):
    """A ``write`` callback that records that it ran."""
    calls = []

    def write(f):
        calls.append(1)
        f.write(data)

    write.calls = calls  # type: ignore[attr-defined]
    return write


def refused(path, field: str = "out") -> InputError:
    """The InputError of writing ``path``, checked to be one line naming ``field``."""
    write = put(b"new")
    with pytest.raises(InputError) as err:
        atomic_write(path, write)
    assert err.value.field == field
    assert "\n" not in str(err.value)
    assert str(err.value).startswith(f"{field} = ")
    assert not write.calls  # refused before anything was written
    return err.value


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["report", "--preset", PRESET, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_exit_2(code: int, out: str, err: str) -> None:
    assert code == 2, err
    assert out == ""
    assert re.match(r"planner: error: (--)?out = ", err) and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err


def temp_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if _atomic._TEMP_RE.match(p.name))


def dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# --- devices, FIFOs, sockets, directories -----------------------------------------------------


def test_dev_null_is_refused_and_stays_a_character_device(gtc_report):
    before = os.lstat("/dev/null")
    assert stat.S_ISCHR(before.st_mode)
    err = refused("/dev/null")
    assert "character device" in str(err)
    with pytest.raises(InputError):
        write_report(gtc_report, "/dev/null", "md")
    after = os.lstat("/dev/null")
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert not [n for n in os.listdir("/dev") if n.startswith(".null.")]


def test_cli_out_dev_null_exits_2_and_keeps_the_device(capsys):
    code, out, err = cli(capsys, "--format", "md", "--out", "/dev/null")
    assert_one_line_exit_2(code, out, err)
    assert "'/dev/null'" in err and "character device" in err
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


@pytest.mark.skipif(not IS_ROOT, reason="mknod needs root")
@pytest.mark.parametrize(
    ("kind", "test", "dev"),
    [
        (stat.S_IFCHR, stat.S_ISCHR, (1, 3)),  # a copy of /dev/null
        (stat.S_IFBLK, stat.S_ISBLK, (7, 200)),  # a loop device node (never opened)
    ],
)
def test_a_device_node_is_refused_as_root_and_left_as_it_was(tmp_path, kind, test, dev):
    node = tmp_path / "report.md"
    os.mknod(node, 0o600 | kind, os.makedev(*dev))
    err = refused(node)
    assert "device" in str(err)
    assert test(os.lstat(node).st_mode) and os.lstat(node).st_rdev == os.makedev(*dev)
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


@pytest.mark.timeout(30)
def test_a_fifo_is_refused_without_being_opened(tmp_path):
    fifo = tmp_path / "r.md"
    os.mkfifo(fifo)
    result: list[object] = []

    def attempt():  # opening a FIFO to write blocks until a reader comes: never do it
        try:
            atomic_write(fifo, put(b"new"))
        except InputError as exc:
            result.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "the writer blocked on the FIFO"
    assert len(result) == 1 and "FIFO" in str(result[0]) and result[0].field == "out"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_unix_socket_is_refused(tmp_path):
    path = tmp_path / "s.md"
    if len(os.fsencode(path)) > 100:  # sun_path holds 108 bytes
        pytest.skip("temp path too long for a Unix socket")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        assert "socket" in str(refused(path))
        assert stat.S_ISSOCK(os.lstat(path).st_mode)


@pytest.mark.parametrize("name", [".", "r.md"])
def test_a_directory_is_refused_and_kept(tmp_path, name):
    target = tmp_path / name
    target.mkdir(exist_ok=True)
    (target / "inside.txt").write_text("kept")
    assert "it is a directory" in str(refused(target))
    assert (target / "inside.txt").read_text() == "kept"


def test_a_path_ending_in_a_separator_is_not_a_file_name(tmp_path):
    assert "separator" in str(refused(f"{tmp_path}/new.md/"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("make", "words"),
    [
        ("missing/r.md", "does not exist"),
        ("file.txt/r.md", "not a directory"),
    ],
)
def test_a_missing_or_non_directory_parent_is_refused(tmp_path, make, words):
    (tmp_path / "file.txt").write_text("x")
    err = refused(tmp_path / make)
    assert words in str(err) and "existing directory" in str(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


# --- symlinks -----------------------------------------------------------------------------------


def test_writing_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path):
    real_dir = tmp_path / "archive"
    real_dir.mkdir()
    real = real_dir / "2026-12-01.md"
    real.write_text("old")
    real.chmod(0o640)
    old_inode = real.stat().st_ino
    link = tmp_path / "latest.md"
    link.symlink_to(Path("archive") / "2026-12-01.md")
    seen = {}

    def write(f):  # while writing, the temp file sits beside the real target
        seen["archive"] = temp_files(real_dir)
        seen["links_dir"] = temp_files(tmp_path)
        f.write(b"new report")

    written = atomic_write(link, write)
    assert written == real.resolve()
    assert link.is_symlink() and os.readlink(link) == os.path.join("archive", "2026-12-01.md")
    assert real.read_bytes() == b"new report"
    assert real.stat().st_ino != old_inode  # replaced by rename, not rewritten in place
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert len(seen["archive"]) == 1 and seen["links_dir"] == []
    assert temp_files(real_dir) == []


def test_a_chain_of_symlinks_and_a_linked_directory_are_resolved(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "r.md").write_text("old")
    (tmp_path / "dirlink").symlink_to("real")
    (tmp_path / "one.md").symlink_to("dirlink/r.md")
    (tmp_path / "two.md").symlink_to("one.md")
    assert atomic_write(tmp_path / "two.md", put(b"new")) == (tmp_path / "real" / "r.md")
    assert (tmp_path / "real" / "r.md").read_bytes() == b"new"
    assert (tmp_path / "two.md").is_symlink() and (tmp_path / "one.md").is_symlink()
    assert (tmp_path / "dirlink").is_symlink()


def test_a_dangling_symlink_is_refused_and_nothing_is_created(tmp_path):
    link = tmp_path / "r.md"
    link.symlink_to("missing.md")
    assert "dangling symlink to 'missing.md'" in str(refused(link))
    assert not (tmp_path / "missing.md").exists() and link.is_symlink()
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]


def test_a_symlink_loop_is_refused(tmp_path):
    (tmp_path / "a.md").symlink_to("b.md")
    (tmp_path / "b.md").symlink_to("a.md")
    assert "loop" in str(refused(tmp_path / "a.md"))
    assert os.readlink(tmp_path / "a.md") == "b.md"


def test_a_symlink_to_dev_null_is_refused_and_both_stay(tmp_path):
    link = tmp_path / "r.md"
    link.symlink_to("/dev/null")
    assert "links to /dev/null, a character device" in str(refused(link))
    assert os.readlink(link) == "/dev/null"
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_a_symlink_to_a_directory_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "r.md").symlink_to("d")
    assert "a directory" in str(refused(tmp_path / "r.md"))


def test_the_target_turning_into_a_fifo_mid_write_is_refused_at_rename(tmp_path):
    target = tmp_path / "r.md"
    target.write_text("old")

    def swap(f):  # a race: between the checks and the rename, the file becomes a FIFO
        f.write(b"new")
        target.unlink()
        os.mkfifo(target)

    with pytest.raises(InputError) as err:
        atomic_write(target, swap)
    assert "FIFO" in str(err.value)
    assert stat.S_ISFIFO(os.lstat(target).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]


# --- stale temp files of killed writers ---------------------------------------------------------


def _make(path: Path, age_s: float = 0.0) -> Path:
    path.write_text("partial")
    if age_s:
        t = time.time() - age_s
        os.utime(path, (t, t))
    return path


def test_stale_temp_files_are_removed_and_nothing_else(tmp_path):
    tag, other = writer_tag(), "abcdef" if writer_tag() != "abcdef" else "fedcba"
    gone, pid, old = dead_pid(), os.getpid(), STALE_AFTER_S + 60
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("not mine")
    removed = [
        _make(tmp_path / f".r.md.planner-{tag}-{gone}-0123abcd.tmp"),  # dead writer, this host
        _make(tmp_path / f".x.json.planner-{tag}-{pid}-0123abcd.tmp", old),  # alive but 1 h old
        _make(tmp_path / f".x.json.planner-{other}-{gone}-0123abcd.tmp", old),  # other host, old
        _make(tmp_path / ".r.md.k3x_9qzp.tmp", old),  # an earlier version's mkstemp name, old
    ]
    kept = [
        _make(tmp_path / f".x.json.planner-{tag}-{pid}-89ab0123.tmp"),  # a live writer
        _make(tmp_path / f".x.json.planner-{other}-{gone}-4567abcd.tmp"),  # other host, fresh
        _make(tmp_path / ".r.md.k3x_9qzq.tmp"),  # legacy name, fresh
        _make(tmp_path / ".other.md.k3x_9qzp.tmp", old),  # legacy name of another file
        _make(tmp_path / ".notes.tmp", old),  # someone else's temp file
        _make(tmp_path / f"r.md.planner-{tag}-{gone}-0123abcd.tmp", old),  # not hidden
        _make(tmp_path / f".r.md.planner-{tag}-{gone}-0123abcd.tmp.bak", old),
    ]
    link = tmp_path / f".l.md.planner-{tag}-{gone}-89abcdef.tmp"  # never followed nor removed
    link.symlink_to(outside)
    directory = tmp_path / f".d.md.planner-{tag}-{gone}-89abcdef.tmp"
    directory.mkdir()
    nested = _make(directory / f".r.md.planner-{tag}-{gone}-0123abcd.tmp", old)  # not the dir

    atomic_write(tmp_path / "r.md", put(b"report"))

    assert (tmp_path / "r.md").read_bytes() == b"report"
    assert not [p.name for p in removed if p.exists()]
    assert all(p.exists() for p in kept)
    assert link.is_symlink() and outside.read_text() == "not mine"
    assert directory.is_dir() and nested.exists()


def test_remove_stale_temp_files_on_its_own_returns_the_names(tmp_path):
    name = f".r.md.planner-{writer_tag()}-{dead_pid()}-0123abcd.tmp"
    _make(tmp_path / name)
    assert remove_stale_temp_files(tmp_path) == [name]
    assert remove_stale_temp_files(tmp_path / "missing") == []


KILLED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from planner.reports import _atomic

    def hang(*args, **kwargs):  # between the write (fsynced) and the rename
        print("written", flush=True)
        time.sleep(120)

    _atomic.os.replace = hang
    _atomic.atomic_write(sys.argv[1], lambda f: f.write(b"NEW REPORT"))
    """
)


@pytest.mark.timeout(60)
def test_a_killed_writer_leaves_the_old_report_and_the_next_write_removes_its_temp(
    tmp_path, gtc_report
):
    out = tmp_path / "r.md"
    out.write_text("previous report")
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(out)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "written\n"
        temps = temp_files(tmp_path)
        assert len(temps) == 1
        assert f"-{child.pid}-" in temps[0] and temps[0].startswith(".r.md.planner-")
        assert (tmp_path / temps[0]).read_bytes() == b"NEW REPORT"
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -9
    assert out.read_text() == "previous report"  # the killed write changed nothing
    assert temp_files(tmp_path) == temps  # a SIGKILLed writer cannot clean up

    write_report(gtc_report, out)
    assert out.read_text().startswith("# GTC 2024")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.md"]


# --- suffix vs format --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "name", "words"),
    [
        ("xlsx", "x.md", ".md is the suffix of md reports"),
        ("md", "x.xlsx", ".xlsx is the suffix of xlsx reports"),
        ("html", "x.json", ".json is the suffix of json reports"),
        ("json", "x.txt", ".txt is not a report suffix"),
        ("md", "x.HTML", ".HTML is the suffix of html reports"),
    ],
)
def test_a_suffix_contradicting_the_format_is_refused_and_nothing_written(
    gtc_report, tmp_path, fmt, name, words
):
    with pytest.raises(InputError) as err:
        write_report(gtc_report, tmp_path / name, fmt)
    msg = str(err.value)
    assert err.value.field == "out" and words in msg and f"for format {fmt}" in msg
    assert "\n" not in msg
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("md", "X.MARKDOWN"), ("html", "x.htm"), ("json", "report"), ("md", ".hidden")],
)
def test_matching_suffixes_or_none_are_written(gtc_report, tmp_path, fmt, name):
    out = write_report(gtc_report, tmp_path / name, fmt)
    assert out == (tmp_path / name).resolve() and out.stat().st_size > 1000


def test_a_symlink_whose_target_has_another_formats_suffix_is_refused(gtc_report, tmp_path):
    (tmp_path / "book.xlsx").write_bytes(b"workbook")
    (tmp_path / "latest.md").symlink_to("book.xlsx")
    with pytest.raises(InputError) as err:
        write_report(gtc_report, tmp_path / "latest.md", "md")
    assert ".xlsx is the suffix of xlsx reports" in str(err.value)
    assert (tmp_path / "book.xlsx").read_bytes() == b"workbook"


def test_an_existing_directory_gets_the_directory_message_not_the_suffix_one(tmp_path):
    d = tmp_path / "reports.2026"
    d.mkdir()
    check_suffix("md", d)  # passes: the path check below says what is wrong
    assert "it is a directory" in str(refused(d))


def test_cli_xlsx_to_a_md_name_exits_2_and_writes_nothing(capsys, tmp_path):
    code, out, err = cli(capsys, "--format", "xlsx", "--out", str(tmp_path / "x.md"))
    assert_one_line_exit_2(code, out, err)
    assert ".md is the suffix of md reports" in err
    assert list(tmp_path.iterdir()) == []


# --- ~user and over-long names -----------------------------------------------------------------


def _no_such_user() -> str:
    name = "planner_no_such_user"
    with pytest.raises(KeyError):
        pwd.getpwnam(name)
    return name


def test_an_unknown_user_after_tilde_is_one_line(capsys):
    user = _no_such_user()
    err = refused(f"~{user}/x.md")
    assert f"unknown user '{user}'" in str(err)
    code, out, err_text = cli(capsys, "--format", "md", "--out", f"~{user}/x.md")
    assert_one_line_exit_2(code, out, err_text)


def test_tilde_expands_to_the_home_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert atomic_write("~/r.md", put(b"home")) == (tmp_path / "r.md").resolve()
    assert (tmp_path / "r.md").read_bytes() == b"home"


def test_a_300_character_name_is_one_line_and_writes_nothing(capsys, tmp_path):
    long_name = "a" * 300 + ".md"
    err = refused(tmp_path / long_name)
    assert "at most 255 bytes per name" in str(err) and "303 bytes" in str(err)
    assert len(str(err)) < 300  # the value is shortened, the line stays readable
    code, out, err_text = cli(capsys, "--format", "md", "--out", str(tmp_path / long_name))
    assert_one_line_exit_2(code, out, err_text)
    assert list(tmp_path.iterdir()) == []


def test_a_path_longer_than_path_max_is_one_line(tmp_path):
    deep = tmp_path / ("abcdefghij/" * 450) / "r.md"  # ~5,000 bytes > PATH_MAX (4,096)
    with pytest.raises(PlannerError) as err:
        atomic_write(deep, put(b"x"))
    assert "\n" not in str(err.value) and "too long" in str(err.value)


def test_a_255_byte_name_is_written_with_a_short_temp_name(tmp_path):
    name = "b" * 252 + ".md"
    seen = []

    def write(f):
        seen.extend(temp_files(tmp_path))
        f.write(b"ok")

    atomic_write(tmp_path / name, write)
    assert (tmp_path / name).read_bytes() == b"ok"
    assert len(seen) == 1 and len(seen[0]) < 100


@pytest.mark.parametrize("name", ["r.md", "é" * 120 + ".md", "a b;c.md", "x" * 255])
def test_temp_names_fit_the_pattern_and_stay_short(name):
    tmp = temp_name(name, pid=4194304)
    assert _atomic._TEMP_RE.match(tmp) is not None
    assert len(os.fsencode(tmp)) <= 80
    assert "-4194304-" in tmp and tmp.endswith(".tmp") and tmp.startswith(".")


# --- permissions and owner ---------------------------------------------------------------------


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_0666_minus_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        out = atomic_write(tmp_path / "r.md", put(b"x"))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(out.stat().st_mode) == mode


@pytest.mark.parametrize(("old", "new"), [(0o640, 0o640), (0o604, 0o604), (0o4755, 0o755)])
def test_replacing_a_file_keeps_its_permissions_without_setuid(tmp_path, old, new):
    out = tmp_path / "r.md"
    out.write_text("old")
    out.chmod(old)
    atomic_write(out, put(b"new"))
    assert stat.S_IMODE(out.stat().st_mode) == new and out.read_bytes() == b"new"


@pytest.mark.skipif(not IS_ROOT, reason="only root can give a file away")
def test_root_replacing_a_users_file_keeps_its_owner(tmp_path):
    out = tmp_path / "r.md"
    out.write_text("old")
    os.chown(out, 65534, 65534)
    atomic_write(out, put(b"new"))
    st = out.stat()
    assert (st.st_uid, st.st_gid) == (65534, 65534) and out.read_bytes() == b"new"


# --- atomicity ---------------------------------------------------------------------------------


def test_during_the_write_the_old_report_is_whole_and_the_temp_is_beside_it(tmp_path):
    out = tmp_path / "r.md"
    out.write_text("previous report")
    reader = out.open()  # a reader holding the old file keeps reading the old content
    seen = {}

    def write(f):
        f.write(b"new ")
        seen["target"] = out.read_text()
        seen["temps"] = temp_files(tmp_path)
        f.write(b"report")

    try:
        atomic_write(out, write)
        assert reader.read() == "previous report"
    finally:
        reader.close()
    assert seen["target"] == "previous report" and len(seen["temps"]) == 1
    assert out.read_text() == "new report"
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]


def test_the_temp_file_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(_atomic.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(
        _atomic.os,
        "replace",
        lambda *a, **k: (events.append("replace"), real_replace(*a, **k)),
    )
    atomic_write(tmp_path / "r.md", put(b"x"))
    assert events[:2] == ["fsync", "replace"]


def test_a_failed_write_of_a_new_file_leaves_nothing(tmp_path, monkeypatch):
    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_atomic.os, "fsync", disk_full)
    with pytest.raises(InputError) as err:
        atomic_write(tmp_path / "r.md", put(b"x"))
    assert "No space left" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_check_writable_target_returns_the_real_path_without_creating_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert check_writable_target("new.md") == tmp_path.resolve() / "new.md"
    assert list(tmp_path.iterdir()) == []


def test_a_face_may_name_the_field_as_its_option(gtc_report, tmp_path):
    with pytest.raises(InputError) as err:
        write_report(gtc_report, tmp_path / "x.md", "xlsx", field="--out")
    assert str(err.value).startswith("--out = ")
    with pytest.raises(InputError) as err:
        write_report(gtc_report, "/dev/null", "md", field="--out")
    assert str(err.value).startswith("--out = '/dev/null'")


def test_a_trailing_separator_after_an_existing_file_is_refused(tmp_path):
    (tmp_path / "r.md").write_text("old")
    assert "separator" in str(refused(f"{tmp_path}/r.md/"))
    assert (tmp_path / "r.md").read_text() == "old"
    (tmp_path / "link.md").symlink_to("r.md")
    assert "separator" in str(refused(f"{tmp_path}/link.md/"))
    (tmp_path / "d").mkdir()
    (tmp_path / "dlink").symlink_to("d")
    assert "it is a directory" in str(refused(f"{tmp_path}/dlink/"))
    assert (tmp_path / "r.md").read_text() == "old" and (tmp_path / "link.md").is_symlink()
