"""The worker's side of ``ctx.llm``: which ``LanguageModels`` a job gets, and how a job in a
pool child reaches its parent's (a child holds no registry and opens no database): it sends
``Complete`` and waits for ``Replied``, then returns the reply or raises its error. The
parent runs the call in a thread of its own, so it keeps watching the job's deadline,
cancellation and other reports while the model answers."""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from renderhouse.errors import BudgetExhausted, InvalidInput, RenderhouseError
from renderhouse.generators.language import (
    LanguageModelError,
    LanguageModels,
    LanguageModelUnavailable,
    NoLanguageModels,
    Reply,
    Request,
)
from renderhouse.worker.failures import caller_fault
from renderhouse.worker.messages import Complete, Replied

if TYPE_CHECKING:
    from renderhouse.queue.jobs import Job

log = logging.getLogger(__name__)

LanguageFor = Callable[["Job"], LanguageModels]
"""Builds one job's ``ctx.llm`` (the model registry's gateway in a deployment)."""

_calls = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="rh-llm")
"""Parent-side threads that wait on the models for pool children (at most a few at once:
a worker runs few isolated jobs at a time)."""


def none_for(job: Job) -> LanguageModels:
    """No models: for workers built without a registry (tests of the queue itself)."""
    return NoLanguageModels("this worker was started without language models")


def answer(models: LanguageModels, msg: Complete) -> Replied:
    """Run a child's ``Complete`` on ``models``; every failure becomes a ``Replied``."""
    try:
        return Replied(reply=models.answer(msg.request).to_dict())
    except RenderhouseError as exc:
        return Replied(
            code=exc.code, error=exc.message, details=exc.details, final=caller_fault(exc)
        )
    except Exception as exc:  # a bug on the platform side: the attempt fails, retryable
        log.exception("a job's language-model call failed")
        return Replied(code="llm_failed", error=f"the language-model call failed: {exc!r}")


def start(models: LanguageModels, msg: Complete) -> concurrent.futures.Future[Replied]:
    return _calls.submit(answer, models, msg)


def raised(replied: Replied) -> RenderhouseError:
    """The exception a child raises for a failed ``Replied``."""
    message = replied.error or "the language-model call failed"
    code, details = replied.code, replied.details
    if code == BudgetExhausted.code:
        return BudgetExhausted(message, details=details)
    if code == LanguageModelUnavailable.code:
        return LanguageModelUnavailable(message, details=details)
    if replied.final:
        return InvalidInput(message, code=code, details=details)
    return LanguageModelError(message, code=code, details=details)


class PipeLanguageModels(LanguageModels):
    """A pool child's ``ctx.llm``: each call is a message to the parent."""

    def __init__(self, send: Callable[[Complete], None], receive: Callable[[], Replied]):
        self._send, self._receive = send, receive

    def answer(self, request: Request) -> Reply:
        self._send(Complete(request))
        replied = self._receive()
        if replied.reply is None:
            raise raised(replied)
        return Reply(**replied.reply)
