# SPDX-License-Identifier: MIT
"""Exceptions are asdnorm.Error and the matching built-in; file errors carry the operating
system's cause; paths are str, bytes or os.PathLike, and a NUL is refused before anything
is written or read."""
import errno
import os
import pathlib
import pickle
import subprocess
import sys

import numpy as np
import pytest

import asdnorm
from asdnorm import Status


@pytest.fixture
def index():
    x = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=np.float32)
    return asdnorm.Index(2, "euclidean").add(x).finalize("knn", k=1)


def test_hierarchy():
    pairs = [(asdnorm.InvalidValueError, ValueError), (asdnorm.InvalidTypeError, TypeError),
             (asdnorm.FileError, OSError), (asdnorm.FileMissingError, FileNotFoundError),
             (asdnorm.FileAccessError, PermissionError),
             (asdnorm.OutOfMemoryError, MemoryError)]
    for cls, builtin in pairs:
        assert issubclass(cls, asdnorm.Error) and issubclass(cls, builtin), cls
    assert not issubclass(asdnorm.Error, (ValueError, TypeError, OSError, MemoryError))
    assert issubclass(asdnorm.FileMissingError, asdnorm.FileError)


def test_each_kind_is_raised():
    with pytest.raises(TypeError):
        asdnorm.Scorer("x")
    with pytest.raises(TypeError):
        asdnorm.Index(2).add("not numbers")
    with pytest.raises(ValueError):
        asdnorm.Index(2).add(np.ones((2, 3)))


def test_out_of_memory_is_memory_error():
    """A scorer's scratch memory holds at least one row of dim floats: for dim = 2**31 - 1
    (the largest the BLAS takes) that is 8 GiB, which a child process limited to 1 GiB
    more address space than it already has cannot get. Under AddressSanitizer
    (.ci/sanitize.sh preloads libasan, which cannot run under RLIMIT_AS) ASan's own
    allocation limit refuses it instead."""
    code = ("import os, resource, asdnorm\n"
            "if 'libasan' not in os.environ.get('LD_PRELOAD', ''):\n"
            "    vm = next(int(l.split()[1]) for l in open('/proc/self/status')\n"
            "              if l.startswith('VmSize:')) * 1024\n"
            "    resource.setrlimit(resource.RLIMIT_AS, (vm + 2**30, vm + 2**30))\n"
            "try:\n"
            "    asdnorm.Scorer(asdnorm.Index(2**31 - 1, 'euclidean'))\n"
            "except MemoryError as e:\n"
            "    assert isinstance(e, asdnorm.OutOfMemoryError), type(e)\n"
            "    print(int(e.status), type(e).__mro__[1].__name__)\n")
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + \
        ":allocator_may_return_null=1:max_allocation_size_mb=1024"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [str(int(Status.E_NOMEM)), "Error"]


def test_errors_pickle():
    err = asdnorm.FileMissingError(Status.E_IO, None, "Index.load('x')", errno.ENOENT, "x")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is asdnorm.FileMissingError
    assert (back.status, back.errno, back.filename, back.strerror, str(back)) == \
        (Status.E_IO, errno.ENOENT, "x", os.strerror(errno.ENOENT), str(err))
    err = asdnorm.InvalidValueError(Status.E_DIM, None, "ctx")
    assert str(pickle.loads(pickle.dumps(err))) == str(err) == \
        f"ctx: {Status.E_DIM.message} (status 10)"


def test_load_missing_file(tmp_path):
    path = tmp_path / "missing.asdx"
    with pytest.raises(FileNotFoundError) as e:
        asdnorm.Index.load(path)
    err = e.value
    assert isinstance(err, asdnorm.FileMissingError) and err.status == Status.E_IO
    assert err.errno == errno.ENOENT and err.strerror == os.strerror(errno.ENOENT)
    assert err.filename == str(path) and os.strerror(errno.ENOENT) in str(err)


def test_save_gives_the_os_cause(tmp_path, index):
    target = tmp_path / "no-such-dir" / "x.asdx"
    with pytest.raises(FileNotFoundError) as e:
        index.save(target)
    assert e.value.errno == errno.ENOENT and e.value.filename == str(target)
    assert os.strerror(errno.ENOENT) in str(e.value)
    # Renaming a file over a directory: the system's EISDIR.
    (tmp_path / "dir").mkdir()
    with pytest.raises(OSError) as e:
        index.save(tmp_path / "dir")
    assert isinstance(e.value, asdnorm.FileError) and e.value.errno == errno.EISDIR
    assert e.value.strerror == os.strerror(errno.EISDIR) and e.value.strerror in str(e.value)
    assert os.listdir(tmp_path) == ["dir"] and os.listdir(tmp_path / "dir") == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root is never denied permission")
def test_save_permission_denied(tmp_path, index):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(PermissionError) as e:
            index.save(locked / "x.asdx")
        assert isinstance(e.value, asdnorm.FileAccessError)
        assert e.value.errno == errno.EACCES and e.value.filename == str(locked / "x.asdx")
        assert os.listdir(locked) == []
    finally:
        locked.chmod(0o700)


def test_save_errors_match_pythons_own(tmp_path, index):
    """Where Python's open(path, "wb") fails, save fails with the same errno and the same
    built-in class (also as root: sysfs refuses new files with EACCES)."""
    targets = [tmp_path / "missing" / "x.asdx", "/sys/asdnorm-test.asdx"]
    for target in targets:
        try:
            with open(target, "wb"):
                pass
        except OSError as exc:
            py = exc
        else:
            os.unlink(target)
            continue
        with pytest.raises(OSError) as e:
            index.save(target)
        assert e.value.errno == py.errno and type(py) in type(e.value).__mro__, \
            (target, e.value, py)


def test_path_types(tmp_path, index):
    tests = np.array([[0.5, 0.5], [3.0, 1.0]])
    want = asdnorm.Scorer(index).score(tests)
    names = [str(tmp_path / "a.asdx"), os.fsencode(tmp_path / "b.asdx"),
             tmp_path / "c.asdx", pathlib.PurePath(tmp_path / "d.asdx"),
             os.fsencode(tmp_path) + b"/\xff\xfe.asdx"]     # bytes that are not UTF-8
    for name in names:
        index.save(name)
        back = asdnorm.Index.load(name)
        np.testing.assert_array_equal(asdnorm.Scorer(back).score(tests), want)
    assert len(os.listdir(tmp_path)) == len(names)
    for bad in (123, None, 1.5, ["a"]):
        with pytest.raises(TypeError):
            index.save(bad)
        with pytest.raises(TypeError):
            asdnorm.Index.load(bad)


@pytest.mark.parametrize("name", ["model\0.asdx", b"model\0.asdx", "\0"])
def test_nul_in_a_path_is_refused(tmp_path, index, name):
    full = os.path.join(os.fsencode(tmp_path) if isinstance(name, bytes) else str(tmp_path),
                        name)
    with pytest.raises(ValueError) as e:
        index.save(full)
    assert isinstance(e.value, asdnorm.InvalidValueError) and "NUL" in str(e.value)
    assert os.listdir(tmp_path) == []                 # nothing written, not even "model"
    index.save(tmp_path / "model")
    with pytest.raises(ValueError):                   # does not load "model"
        asdnorm.Index.load(full)


def test_from_bytes_type():
    with pytest.raises(TypeError):
        asdnorm.Index.from_bytes("not bytes")
    with pytest.raises(ValueError) as e:
        asdnorm.Index.from_bytes(b"\0" * 64)
    assert e.value.status == Status.E_CORRUPT


def test_check_rows():
    x = np.ones((5, 3))
    assert asdnorm.check_rows(x) is None
    x[3] = 0
    assert asdnorm.check_rows(x, "cosine") == 3
    assert asdnorm.check_rows(x, "euclidean") is None
    x[1, 2] = np.inf
    assert asdnorm.check_rows(x, "mse") == 1
    big = np.ones((2, 3), dtype=np.float32)
    big[1, 0] = 1e19                                   # squared norm above 1e24
    assert asdnorm.check_rows(big, "euclidean") == 1
    assert asdnorm.check_rows(np.empty((0, 3))) is None
    with pytest.raises(ValueError):
        asdnorm.check_rows(x, "manhattan")
    with pytest.raises(ValueError):
        asdnorm.check_rows(np.ones(3))


def test_strerror_and_versions():
    assert asdnorm.strerror(Status.E_IO) == Status.E_IO.message
    assert asdnorm.strerror(999)                      # unknown values have a message too
    with pytest.raises(TypeError):
        asdnorm.strerror("12")
    assert asdnorm.library_version() == asdnorm.__version__
