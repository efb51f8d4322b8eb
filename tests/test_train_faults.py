"""Training checks before it trains, and every user mistake is one line and exit 2 (issue 32 items 4-7).

Driven in-process through ``fast_style.train.train_cli.main(argv)`` (what ``fast-style-train`` and
``scripts/train.py`` run), so Hydra's own composition errors are covered too. No case may reach a
training step: a step raises here, so a check that came too late fails the test with a traceback.
"""

from __future__ import annotations

import errno
import pathlib
from pathlib import Path

import pytest

from fast_style.checkpoint import read_checkpoint
from fast_style.cli import run
from fast_style.errors import EXIT_USAGE, InputFileError, InvalidValueError
from fast_style.train.checks import check_output, check_output_name, layout_difference
from fast_style.train.module import StyleTransferModule
from fast_style.train.run import train
from fast_style.train.train_cli import main

LONG = "a" * 300  # one path component over the 255 bytes a file name may take


@pytest.fixture
def no_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any training step fail loudly: the checks under test come before the first one."""

    def training_step(self, batch, batch_idx):
        raise AssertionError("a training step ran before the mistake was caught")

    monkeypatch.setattr(StyleTransferModule, "training_step", training_step)


@pytest.fixture
def train_cli(tmp_path: Path, photo_dir: Path, assets_dir: Path, capsys: pytest.CaptureFixture):
    """``main(argv)`` of a debug run on ``photo_dir`` into ``tmp_path``: returns (status, stderr's lines)."""

    def run(*overrides: str) -> tuple[int, list[str]]:
        argv = ["debug=default", f"data.train_dir={photo_dir}", f"data.val_dir={photo_dir}",
                f"checkpoint_dir={tmp_path / 'ckpt'}", f"hydra.run.dir={tmp_path / 'run'}",
                "hydra/job_logging=disabled", "hydra/hydra_logging=disabled", *overrides]
        status = main([argument.replace("TMP", str(tmp_path)) for argument in argv])
        return status, capsys.readouterr().err.strip().splitlines()

    return run


@pytest.mark.parametrize("override, message", [
    # Hydra's own errors: an unknown option of a group (experiment= too: no longer optional), a key that is not
    # there, an unquoted blend.
    ("style=x", "Could not find 'style/x'; Available options in 'style': brushstrokes, candy,"),
    ("experiment=cpu_qiuck", "Could not find 'experiment/cpu_qiuck'; Available options in 'experiment': arbitrary, cpu_quick,"),
    ("debug=nosuch", "Could not find 'debug/nosuch'"),
    ("trainer.max_step=3", "Could not override 'trainer.max_step'. To append to your config use +trainer.max_step=3"),
    ("style=candy:0.5,mosaic:0.5", "Ambiguous value for argument 'style=candy:0.5,mosaic:0.5'"),
    # Values the library refuses, in its own words.
    ("model.width=0", "width must be a positive integer, got 0"),
    ("model.width=-3", "width must be a positive integer, got -3"),
    ("model.width=abc", "width must be a positive integer, got 'abc'"),
    ("model.width=2.5", "width must be a positive integer, got 2.5"),
    ("model.num_residual_blocks=-1", "num_residual_blocks must be a non-negative integer, got -1"),
    ("trainer.precision=bogus", "trainer.precision='bogus' is not a precision; allowed: auto, 32-true"),
    ("seed=abc", "seed must be a whole number, e.g. seed=0, got 'abc'"),
    ("loss.content_layers=[nosuch]", "unknown VGG layer(s) ['nosuch'] for vgg16; allowed: conv1_1"),
    ("loss.vgg.arch=vgg99", "unknown VGG architecture 'vgg99'; allowed: vgg16, vgg19"),
    ("loss.vgg.weights=TMP/text.pth", "cannot read VGG weights"),
    ("loss.vgg.weights=TMP/nosuch.pth", "VGG weights file"),
    # Names and paths over 255 bytes (ENAMETOOLONG where the system sees them first).
    (f"checkpoint_dir=TMP/{LONG}", "checkpoint_dir cannot be used: "),
    (f"data.train_dir=TMP/{LONG}", "the name is too long"),
    (f"style.image=TMP/{LONG}.jpg", "the name is too long"),
    (f"hydra.run.dir=TMP/{LONG}", "the name is too long"),
    (f"style.name={'b' * 252}", "a file name takes at most 255 bytes, got 256"),
    # The output: a plain name, a folder that is a folder.
    ("style.name=../../evil", "style.name='../../evil' must be a plain name"),
    ("checkpoint_dir=TMP/a_file", "is a file, not a folder"),
    ("checkpoint_dir=TMP/a_file/below", "is a file, not a folder"),
])
def test_a_mistake_is_one_line_and_exit_2_before_any_step(override: str, message: str, train_cli, tmp_path: Path,
                                                          no_step):
    (tmp_path / "text.pth").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tmp_path / "a_file").write_text("not a folder")
    status, lines = train_cli(override)
    assert status == EXIT_USAGE and len(lines) == 1, lines
    assert lines[0].startswith("error: ") and message in lines[0], lines[0]
    assert not (tmp_path / "ckpt").exists() and not (tmp_path.parent / "evil.pth").exists()


def test_an_earlier_network_is_kept_unless_the_run_says_overwrite(train_cli, tmp_path: Path, monkeypatch):
    earlier = tmp_path / "ckpt" / "candy.pth"
    earlier.parent.mkdir()
    earlier.write_bytes(b"an earlier network")
    with monkeypatch.context() as patch:
        patch.setattr(StyleTransferModule, "training_step", lambda *args: pytest.fail("trained before refusing"))
        status, lines = train_cli("style=candy")
    assert status == EXIT_USAGE and lines == [f"error: {str(earlier)!r} exists and is kept; train under another "
                                              "style.name, another checkpoint_dir, or replace it with overwrite=true"]
    assert earlier.read_bytes() == b"an earlier network"
    status, lines = train_cli("style=candy", "overwrite=true")
    assert status == 0 and read_checkpoint(earlier).style == "candy"


def test_a_read_only_checkpoint_folder_is_refused_before_training(train_config, tmp_path: Path, monkeypatch, no_step):
    """The folder is probed by writing into it (a read-only mount, which root's permissions do not show)."""
    write_bytes = pathlib.Path.write_bytes

    def read_only(self, data):
        if self.parent == tmp_path / "ckpt":
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return write_bytes(self, data)

    (tmp_path / "ckpt").mkdir()
    monkeypatch.setattr(pathlib.Path, "write_bytes", read_only)
    with pytest.raises(InputFileError, match="cannot be written: .*the file system is read-only"):
        train(train_config("style=candy"), tmp_path / "run")
    assert list((tmp_path / "ckpt").iterdir()) == []


def test_resuming_into_another_layout_names_both_layouts(train_config, tmp_path: Path, monkeypatch):
    """A width-8 run resumed with width 4, and a multi-style run resumed as one style: one line, before a step."""
    wide = train(train_config("model.width=8", "trainer.max_steps=1", "~logger", "~callbacks.previews"),
                 tmp_path / "wide")
    last = tmp_path / "wide" / "lightning_checkpoints" / "last.ckpt"
    assert read_checkpoint(wide).model_args["width"] == 8 and last.is_file()
    multi = train_config("experiment=multistyle", "styles=[candy,mosaic]", "trainer.max_steps=1", "~logger",
                         "~callbacks.previews", "model.width=4", "model.num_residual_blocks=1")
    train(multi, tmp_path / "multi")
    monkeypatch.setattr(StyleTransferModule, "training_step", lambda *args: pytest.fail("trained before refusing"))
    with pytest.raises(InvalidValueError, match=r"holds a network of layout \{width: 8\}; this run builds \{width: 4\}"):
        train(train_config(f"ckpt_path={last}", "overwrite=true"), tmp_path / "resumed")
    multi_last = tmp_path / "multi" / "lightning_checkpoints" / "last.ckpt"
    with pytest.raises(InvalidValueError, match=r"\{styles: \['candy', 'mosaic'\]\}; this run builds \{styles: None\}"):
        train(train_config(f"ckpt_path={multi_last}", "overwrite=true"), tmp_path / "resumed")


def test_the_layout_comparison_fills_what_a_side_leaves_out_with_the_networks_default():
    assert layout_difference({"width": 8, "norm": "instance"}, {"width": 8, "norm": "instance", "stem_kernel": 9}) == []
    assert layout_difference({"separable_residuals": False}, {}) == []  # the default, stated or not
    assert layout_difference({"width": 8}, {"width": 4}) == ["width"]
    assert layout_difference({}, {"styles": ("a", "b")}) == ["styles"]
    assert layout_difference({"styles": ["a", "b"]}, {"styles": ("a", "b")}) == []


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\\b", "nul\0byte", "é" * 126])
def test_an_output_name_must_be_a_plain_file_name(name: str):
    with pytest.raises(InvalidValueError, match="style.name"):
        check_output_name(name)


def test_the_output_check_writes_nothing_it_does_not_need(tmp_path: Path):
    assert check_output(tmp_path / "new" / "deeper", "candy") == tmp_path / "new" / "deeper" / "candy.pth"
    assert list(tmp_path.iterdir()) == []  # the folder is created by the writer, at the end
    assert check_output_name("é" * 125) == "é" * 125  # 250 bytes + .pth: fits


def test_run_makes_an_os_error_about_a_users_path_one_line_and_keeps_the_others_as_bugs(tmp_path: Path, capsys,
                                                                                       monkeypatch):
    # A relative path, as short wherever tmp_path is (a path over 80 characters is shown shortened).
    monkeypatch.chdir(tmp_path)

    def open_missing(argv):
        Path("no", "such.txt").read_text()

    assert run(open_missing) == EXIT_USAGE
    assert capsys.readouterr().err == "error: 'no/such.txt': no such file or folder\n"

    def full_disk(argv):
        raise OSError(errno.ENOSPC, "No space left on device", "out.png")  # the writers say that themselves

    def no_path(argv):
        raise OSError(errno.ENOENT, "somewhere inside")  # no path of the user's: a bug, with its traceback

    for main_ in (full_disk, no_path):
        with pytest.raises(OSError):
            run(main_)
