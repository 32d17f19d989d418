"""A pool of long-lived child processes, one job at a time each. A child that times out,
is cancelled too slowly or crashes is killed and replaced; the others stay warm."""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from renderhouse.worker.child import child_main
from renderhouse.worker.messages import Ack, CancelJob, Ready, Replied, RunJob, Stop

_ctx = multiprocessing.get_context("spawn")


class Child:
    def __init__(self, generators: list[tuple[str, str]]) -> None:
        parent, child = _ctx.Pipe()
        self.conn: Connection = parent
        self.process: BaseProcess = _ctx.Process(
            target=child_main, args=(child, generators), daemon=True, name="renderhouse-child"
        )
        self.process.start()
        child.close()
        self.jobs_run = 0

    def wait_ready(self, timeout: float = 60.0) -> None:
        if not self.conn.poll(timeout):
            self.kill()
            raise RuntimeError("a worker child did not start within 60 s")
        msg = self.conn.recv()
        assert isinstance(msg, Ready), msg

    def send(self, msg: RunJob | CancelJob | Ack | Replied) -> None:
        self.conn.send(msg)

    def alive(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(Stop())
        except OSError:
            pass
        self.process.join(2)
        self.kill()


class ChildPool:
    def __init__(self, size: int, generators: list[tuple[str, str]]) -> None:
        self.size = size
        self.generators = generators
        self._idle: list[Child] = []
        self._count = 0
        self._cond = threading.Condition()
        self.replaced = 0

    def start(self) -> None:
        """Start every child up front, so the first job does not pay for interpreter start-up."""
        children = [Child(self.generators) for _ in range(self.size)]
        for c in children:
            c.wait_ready()
        with self._cond:
            self._idle.extend(children)
            self._count = len(children)

    def acquire(self) -> Child:
        with self._cond:
            while not self._idle and self._count >= self.size:
                self._cond.wait()
            if self._idle:
                return self._idle.pop()
            self._count += 1
        try:
            child = Child(self.generators)
            child.wait_ready()
            return child
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def release(self, child: Child) -> None:
        with self._cond:
            self._idle.append(child)
            self._cond.notify()

    def discard(self, child: Child) -> None:
        """Kill a child that must not run another job; a fresh one replaces it on demand."""
        child.kill()
        with self._cond:
            self._count -= 1
            self.replaced += 1
            self._cond.notify()

    def shutdown(self) -> None:
        with self._cond:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for c in idle:
            c.stop()
