"""The one command-line convention: ``run(main)`` and the arguments every command shares.

Every console script and ``scripts/*.py`` goes through :func:`run` (its ``main`` is wrapped with
:func:`command`): a :class:`fast_style.errors.FastStyleError` (a mistake the user can fix) becomes
one line ``error: ...`` on stderr and its exit code (a :class:`~fast_style.errors.FastStyleWarning`
one line ``warning: ...``); any other exception is a bug and keeps its
traceback. Exit codes (:mod:`fast_style.errors`, the README's table): 0 done, 1 part of the work
failed (one photo of a folder, a diverged run), 2 nothing was done (bad argument or file,
unknown style), 130 interrupted (Ctrl-C).

The argument builders take their choices from the library's constants (``DEVICES``, ``PRECISIONS``
in :mod:`fast_style.machine`, which :mod:`fast_style.infer.stylize` checks against), so no command
retypes them. Like every top-level module, this one serves the training, inference and baseline
paths and imports none of them.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from fast_style.errors import EXIT_USAGE, FastStyleError, FastStyleWarning, path_error_message
from fast_style.machine import DEVICES, PRECISIONS

if TYPE_CHECKING:
    from fast_style.zoo import ResolvedStyle

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader went away

Main = Callable[[Sequence[str] | None], "int | None"]


def run(main: Main, argv: Sequence[str] | None = None) -> int:
    """Call ``main(argv)`` and return its exit status, turning the user's mistakes into one line.

    Args:
        main: a command's ``main``; returns its status (``None`` means 0) or raises.
        argv: its arguments (``None``: ``sys.argv[1:]``).

    Returns:
        ``main``'s status; a :class:`FastStyleError`'s ``exit_code`` after printing
        ``error: <message>`` on stderr; 2 after one line for an ``OSError`` about a path the user gave
        (:func:`fast_style.errors.path_error_message`: a name too long, no such file); 130 after
        Ctrl-C; 141, silently, when stdout's reader went away (``| head``). Other exceptions propagate (tracebacks
        are for bugs); so does ``SystemExit`` (argparse's usage errors exit 2 by themselves).
    """
    # SIGTERM (a service manager, `kill`) as Ctrl-C: every writer's clean-up runs, so no temporary
    # file is left beside its target; training's goes through Lightning's graceful shutdown.
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            status = main(argv)
            # Flushed here, so that a reader that went away (`--list-styles | head`) is caught below.
            sys.stdout.flush()
    except BrokenPipeError:
        # The reader has all it wanted; Python would print a traceback flushing stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except FastStyleError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except OSError as error:
        # The system's own error about a path the user gave (a name over 255 bytes, a missing folder): theirs to fix.
        message = path_error_message(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0 if status is None else int(status)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """The project's own warnings as one line ``warning: ...``; any other in Python's usual form."""
    if issubclass(category, FastStyleWarning):
        print(f"warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def command(main: Main) -> Callable[[Sequence[str] | None], int]:
    """Decorate a command's ``main(argv)`` so that every caller (console script, shim, test) runs it through :func:`run`.

    The raising version stays reachable as ``main.__wrapped__`` (``functools.wraps``).
    """

    @functools.wraps(main)
    def wrapped(argv: Sequence[str] | None = None) -> int:
        return run(main, argv)

    return wrapped


def add_network_arguments(
    parser: argparse.ArgumentParser, *, required: bool = True,
    ckpt_help: str = "checkpoints/<style>.pth or a Lightning .ckpt (or a zoo spec)",
) -> argparse._MutuallyExclusiveGroup:
    """``--style SPEC`` (the zoo: ``candy``, ``candy-small``, ``mosaic@styles15``, ``candy:0.7,mosaic:0.3``) or ``--ckpt FILE``.

    Both go to :func:`fast_style.zoo.resolve` (see :func:`resolve_network`). Returns the mutually
    exclusive group, for commands that add a third way (``--list-styles``).
    """
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--style", metavar="SPEC", help="a shipped style network by name (see scripts/stylize.py --list-styles)")
    group.add_argument("--ckpt", metavar="FILE", help=ckpt_help + "; a file wins over a zoo name")
    return group


def resolve_network(args: argparse.Namespace) -> ResolvedStyle:
    """The network :func:`add_network_arguments`' ``--style``/``--ckpt`` name, by :func:`fast_style.zoo.resolve`.

    ``--style`` names the zoo only (so ``--style candy`` never picks up a file called ``candy``);
    ``--ckpt`` takes a file first, then a zoo name. Cheap: nothing is loaded.

    Raises:
        UnknownStyleError, InvalidValueError, InputFileError: see :func:`fast_style.zoo.resolve`.
    """
    from fast_style import zoo

    return zoo.resolve(args.style, allow_path=False) if args.style else zoo.resolve(args.ckpt)


def add_style_image_arguments(parser: argparse.ArgumentParser, group: argparse._MutuallyExclusiveGroup) -> None:
    """``--style-image PAINTING`` in ``group`` (a third way to name the network) and ``--style-image-size N``.

    Any painting is a style through the arbitrary-style network (Ghiasi et al., BMVC 2017) folded for
    it (:func:`fast_style.infer.stylize.load_model`); the size its centre square is read at sets the
    stroke scale (``None``: the network's training size, 256).
    """
    group.add_argument("--style-image", metavar="PAINTING",
                       help="any painting as the style: the arbitrary-style network (Ghiasi et al. 2017) folded for it")
    parser.add_argument("--style-image-size", type=int, default=None, metavar="N",
                        help="side the painting's centre square is read at (default 256, the network's training size); "
                             "it sets the stroke scale: larger, smaller strokes")


def resolve_source(args: argparse.Namespace) -> ResolvedStyle | None:
    """:func:`resolve_network`'s spec, or ``None`` where ``--style-image`` names the style (checked to be a file).

    Cheap, before the work: nothing is loaded.

    Raises:
        InputFileError: a style image that is not a file; else as :func:`resolve_network`.
    """
    if getattr(args, "style_image", None):
        from fast_style.io import require_file

        require_file(args.style_image, "style image")
        return None
    return resolve_network(args)


def add_device_argument(parser: argparse.ArgumentParser, default: str = "auto") -> None:
    """``--device auto|cpu|cuda`` (``auto``: CUDA when available; see :func:`fast_style.infer.stylize.resolve_device`)."""
    parser.add_argument("--device", default=default, choices=DEVICES,
                        help=f"where to run (default {default}; auto = CUDA when available)")


def add_precision_argument(parser: argparse.ArgumentParser) -> None:
    """``--precision fp32|fp16|bf16`` (autocast; fp16 needs CUDA; see :func:`fast_style.infer.stylize.check_precision`)."""
    parser.add_argument("--precision", default="fp32", choices=PRECISIONS, help="fp16/bf16 autocast (fp16 needs CUDA)")


__all__ = [
    "EXIT_INTERRUPTED",
    "add_device_argument",
    "add_network_arguments",
    "add_precision_argument",
    "command",
    "resolve_network",
    "run",
]
