"""The one command-line convention (fast_style.cli): one line and an exit code for the user's mistakes, tracebacks for bugs."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest
import tomllib

from fast_style.cli import command, run
from fast_style.errors import EXIT_PARTIAL, EXIT_USAGE, FastStyleError, InvalidValueError

REPO_ROOT = Path(__file__).resolve().parent.parent
CONSOLE_SCRIPTS = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]


class _Partial(FastStyleError):
    exit_code = EXIT_PARTIAL


def test_run_turns_the_users_mistake_into_one_line_and_its_exit_code(capsys: pytest.CaptureFixture):
    def bad_value(argv):
        raise InvalidValueError("--strength must be in [0, 1], got 2")

    def partial(argv):
        raise _Partial("1 of 2 photos failed")

    assert run(bad_value) == EXIT_USAGE
    assert capsys.readouterr().err == "error: --strength must be in [0, 1], got 2\n"
    assert run(partial) == EXIT_PARTIAL
    assert capsys.readouterr().err == "error: 1 of 2 photos failed\n"
    assert run(lambda argv: None) == 0 and run(lambda argv: 1) == 1
    assert run(lambda argv: len(argv), ["a", "b"]) == 2


def test_run_keeps_the_traceback_of_anything_else_and_reports_ctrl_c(capsys: pytest.CaptureFixture):
    def bug(argv):
        raise ValueError("a bug, not the user's mistake")

    def interrupted(argv):
        raise KeyboardInterrupt

    with pytest.raises(ValueError, match="a bug"):
        run(bug)
    assert run(interrupted) == 130 and capsys.readouterr().err == "interrupted\n"


def test_command_runs_main_through_run(capsys: pytest.CaptureFixture):
    @command
    def main(argv=None):
        """The docstring stays."""
        raise InvalidValueError(f"bad {argv}")

    assert main(["x"]) == EXIT_USAGE and "error: bad ['x']" in capsys.readouterr().err
    assert main.__doc__ == "The docstring stays." and main.__wrapped__ is not None


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _console(name: str):
    module, _, function = CONSOLE_SCRIPTS[name].partition(":")
    return getattr(importlib.import_module(module), function)


# Every command, given a mistake: exit 2 and one line naming it (the eleven commands of issue #18).
MISTAKES = [
    (lambda: _console("fast-style-stylize"), ["--style", "nope", "--input", "x.jpg", "--output", "o/"], "unknown style 'nope'"),
    (lambda: _console("fast-style-stylize"), ["--style", "candy:0.7,mosaic:x", "--input", "x.jpg", "--output", "o/"],
     "weight 'x'"),
    (lambda: _console("fast-style-video"), ["--ckpt", "missing.pth", "--input", "x.mp4", "--output", "OUT/o.mp4"],
     "checkpoint 'missing.pth' does not exist"),
    (lambda: _console("fast-style-export"), ["--style", "candy-huge", "--format", "onnx", "--output", "OUT/o.onnx"],
     "no variant 'huge' of 'candy'"),
    (lambda: _console("fast-style-compare"), ["--style", "candy:0.5,mosaic:0.5", "--output", "OUT"],
     "'candy:0.5,mosaic:0.5' is a blend"),
    (lambda: _console("fast-style-compare"), ["--style", "candy", "--iters", "0", "--output", "OUT"],
     "--iters must be at least 1"),
    (lambda: _console("fast-style-app"), ["--no-zoo", "--models", "OUT/none"], "no style to serve"),
    (lambda: _script("gatys"), ["--content", "x.jpg", "--style-config", "nope", "--output", "OUT"], "unknown style 'nope'"),
    (lambda: _script("tune_style"), ["--style-config", "nope"], "unknown style 'nope'"),
    (lambda: _script("showcase"), ["--ckpt", "missing.pth", "--images", "OUT", "--output", "OUT/s.png"], "missing.pth"),
    (lambda: _script("quality_vs_steps"), ["--ckpt", "nope", "--run-dir", "OUT", "--output", "OUT"], "unknown style 'nope'"),
    (lambda: _script("zoo"), ["add", "missing.pth", "--zoo-dir", "OUT"], "checkpoint 'missing.pth' does not exist"),
]


@pytest.mark.parametrize(("main", "argv", "message"), MISTAKES)
def test_every_command_says_a_mistake_in_one_line_and_exits_2(main, argv, message, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    status = main()([arg.replace("OUT", str(tmp_path)) for arg in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == EXIT_USAGE, err
    assert lines == [lines[0]] and lines[0].startswith("error: ") and message in lines[0], err


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """``stylize.py --list-styles | head -1``: no traceback when the pipe closes, the shell's 141 for it."""
    import os
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, str(REPO_ROOT / "scripts" / "stylize.py"), "--list-styles"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    child.stdout.close()  # the reader leaves before the first line: every write meets a closed pipe
    _, err = child.communicate(timeout=120)
    assert (child.returncode, err.decode()) == (141, "")
