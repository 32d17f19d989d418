"""``renderhouse chat "prompt"``: ask the bundled offline model (or any local GGUF file
with ``--model PATH``) in this process, no server needed; the answer streams to stdout."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click


@click.command()
@click.argument("prompt")
@click.option(
    "--model",
    default="smollm2",
    show_default=True,
    help="smollm2 (bundled) or the path of a local .gguf chat model",
)
@click.option("--system", default=None, help="a system message")
@click.option("--max-tokens", type=click.IntRange(1, 4096), default=256, show_default=True)
@click.option("--temperature", type=click.FloatRange(0, 2), default=None)
@click.option("--threads", type=click.IntRange(1, 256), default=2, show_default=True)
@click.option("--stats", is_flag=True, help="print time to first token and tokens/s")
def chat(
    prompt: str,
    model: str,
    system: str | None,
    max_tokens: int,
    temperature: float | None,
    threads: int,
    stats: bool,
) -> None:
    """Answer PROMPT with a local model; nothing leaves this machine."""
    import asyncio

    from renderhouse.providers.base import ChatRequest, Delta, Usage
    from renderhouse.providers.errors import ProviderError
    from renderhouse.providers.llamacpp import LlamaCppProvider, bundled_model_path, missing_hint

    def fail(message: str) -> None:
        click.echo(f"error: {message}", err=True)
        sys.exit(2)

    if model == "smollm2":
        path = bundled_model_path()
        if path is None:
            fail(missing_hint())
    else:
        path = Path(model)
        if path.suffix != ".gguf" or not path.is_file():
            fail(f"--model {model!r} is neither smollm2 nor an existing .gguf file")
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    provider = LlamaCppProvider(path, threads=threads)
    request = ChatRequest(model, messages, max_tokens=max_tokens, temperature=temperature)

    async def answer() -> tuple[float | None, Usage | None]:
        t0, first, usage = time.perf_counter(), None, None
        async for event in provider.stream(request, timeout=300):
            if isinstance(event, Usage):
                usage = event
            elif isinstance(event, Delta) and event.delta.get("content"):
                first = first or time.perf_counter() - t0
                click.echo(str(event.delta["content"]), nl=False)
        click.echo()
        return first, usage

    started = time.perf_counter()
    try:
        ttft, usage = asyncio.run(answer())
    except ProviderError as exc:
        fail(f"{exc.message} [{exc.code}]")
    except KeyboardInterrupt:
        fail("interrupted")
    if stats and usage is not None:
        total = time.perf_counter() - started
        gen = max(1e-9, total - (ttft or 0))
        click.echo(
            f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens; "
            f"first token {1000 * (ttft or 0):.0f} ms; "
            f"{usage.completion_tokens / gen:.1f} tokens/s; {total:.2f} s with loading",
            err=True,
        )
