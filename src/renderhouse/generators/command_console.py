"""What a generator's command shows on the terminal, the same for every generator: one red
line that says what to fix (exit 2) for bad input or an interrupt, a different line for a bug
(exit 1, "please report"), and a progress bar while the generator runs in this process on a
``LocalContext``. A third-party generator's command may use it too."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

from renderhouse.errors import RenderhouseError

if TYPE_CHECKING:
    from renderhouse.generators.local_context import LocalContext

T = TypeVar("T")


class CommandConsole:
    def __init__(self, label: str, *, quiet: bool = False, counts: bool = True) -> None:
        """``label`` names the bar until the generator reports; ``counts`` shows done/total
        (off for generators whose steps are not countable things)."""
        from rich.console import Console

        self.console = Console(stderr=True, soft_wrap=True)
        self.label, self.quiet, self.counts = label, quiet, counts

    def say(self, markup: str) -> None:
        self.console.print(markup, highlight=False)

    def fail(self, message: str) -> NoReturn:
        """Bad input or options: one line, exit 2."""
        from rich.markup import escape

        self.say(f"[bold red]error:[/] {escape(message)}")
        sys.exit(2)

    def option_error(self, exc: RenderhouseError, kind: str) -> NoReturn:
        """An input the generator refused, said as the command's option."""
        self.fail(exc.message.replace(f"invalid input for {kind}: ", "option "))

    def run(
        self,
        out_dir: Path,
        work: Callable[[LocalContext], T],
        *,
        checkpoint_file: Path | None = None,
    ) -> T:
        """Run ``work`` on a ``LocalContext`` writing to ``out_dir``, with the bar; a
        ``RenderhouseError`` or Ctrl-C fails with its sentence, anything else is a bug."""
        from rich.markup import escape
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        from renderhouse.generators.local_context import LocalContext

        columns = [BarColumn(), MofNCompleteColumn()] if self.counts else [BarColumn()]
        bar = Progress(
            "[progress.description]{task.description}",
            *columns,
            TimeElapsedColumn(),
            console=self.console,
            disable=self.quiet,
            transient=True,
        )
        task = bar.add_task(self.label, total=None)

        def on_progress(done: float, total: float, message: str) -> None:
            bar.update(task, completed=done, total=total, description=message or self.label)

        try:
            with bar:
                ctx = LocalContext(
                    out_dir, on_progress=on_progress, checkpoint_file=checkpoint_file
                )
                return work(ctx)
        except RenderhouseError as exc:
            self.fail(f"{exc.message} [{exc.code}]")
        except KeyboardInterrupt:
            self.fail("interrupted")
        except Exception as exc:  # a bug, not bad input: still one line, but say so
            self.say(f"[bold red]internal error:[/] {escape(repr(exc))} (please report)")
            sys.exit(1)
