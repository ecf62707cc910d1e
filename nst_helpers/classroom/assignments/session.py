"""The grader's side of one submission's sandbox: start the runner, send it cells and calls,
read back plain data, stop it when it runs too long, eats the memory or floods the output."""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from . import probes, sandbox


@dataclass(frozen=True)
class Limits:
    """cell_s: seconds per cell; call_s: seconds per call of a student's function (a probe gets
    4x); notebook_s: seconds for the whole submission; memory_gb: data-memory cap (None: none);
    output_bytes: the most a submission may print; file_bytes: the largest file it may write."""
    cell_s: float = 120
    call_s: float = 30
    notebook_s: float = 600
    memory_gb: float | None = 8.0
    output_bytes: int = 2**20
    file_bytes: int = 64 * 2**20


class Stopped(BaseException):
    """The sandbox was stopped or died. status: "timeout" or "crashed". A BaseException, so that the
    checks' `except Exception` (which turns a student's error into a diagnosis) lets it through."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class Malformed(BaseException):
    """The sandbox answered with something the protocol does not allow."""


def _limits_preexec(limits: Limits) -> Callable[[], None]:
    def apply() -> None:
        import resource
        if limits.memory_gb:
            cap = int(limits.memory_gb * 2**30)
            resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


class Session:
    """One runner process (in a sandbox unless sandboxed=False) holding one submission's namespace."""

    def __init__(self, *, sandboxed: bool, workdir: Path, hide: list[Path], withheld: list[str], quick: bool,
                 limits: Limits, deadline: float | None = None) -> None:
        """deadline: time.monotonic() by which the whole submission must be done (default: notebook_s from now)."""
        self.limits = limits
        self.deadline = deadline if deadline is not None else time.monotonic() + limits.notebook_s
        self._temp = tempfile.TemporaryDirectory(prefix="nst-grade-")
        root = Path(self._temp.name)
        self.scratch, private = root / "scratch", root / "private"
        self.scratch.mkdir()
        private.mkdir()
        read, write = os.pipe()
        inner = [sys.executable, "-m", "nst_helpers.classroom.assignments.runner", str(write),
                 "--withhold", *withheld]
        cmd = (sandbox.command(inner, scratch=self.scratch, private=private, workdir=workdir, hide=hide,
                               withheld=withheld) if sandboxed else inner)
        env = {key: value for key, value in os.environ.items() if key in ("PATH", "LANG", "LC_ALL", "TZ")}
        env.update(HOME=str(self.scratch), MPLBACKEND="Agg", MPLCONFIGDIR=str(self.scratch / "mpl"),
                   PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
        if quick:
            env["NST_QUICK"] = "1"
        self.process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, pass_fds=(write,), env=env, cwd=workdir,
                                        preexec_fn=_limits_preexec(limits), start_new_session=True)
        os.close(write)
        self._replies = os.fdopen(read, "rb", buffering=0)
        self._buffer = b""
        self.output_seen, self.flooded = 0, False
        self.output_head = b""
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        self.count = 0
        self._reply(60.0, "starting the sandbox")

    # ------------------------------------------------------------------ the pipes

    def _drain(self) -> None:
        """Read the submission's prints; keep the first few KB; stop it past the output cap."""
        stream = self.process.stdout
        assert stream is not None
        while chunk := stream.read1(65536):
            self.output_seen += len(chunk)
            if len(self.output_head) < 8192:
                self.output_head += chunk[: 8192 - len(self.output_head)]
            if self.output_seen > self.limits.output_bytes and not self.flooded:
                self.flooded = True
                self.kill()

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _died(self) -> Stopped:
        code = self.process.wait(timeout=10)
        if self.flooded:
            return Stopped("crashed", f"printed more than {self.limits.output_bytes // 1024} KB: stopped")
        if code == -signal.SIGKILL or code == 137:
            return Stopped("crashed", "the sandbox was killed (out of memory?)")
        return Stopped("crashed", f"the sandbox exited with code {code}")

    def _reply(self, timeout: float, what: str) -> dict:
        end = min(time.monotonic() + timeout, self.deadline)
        while b"\n" not in self._buffer:
            left = end - time.monotonic()
            if left <= 0:
                self.kill()
                total = time.monotonic() >= self.deadline
                raise Stopped("timeout", f"{what}: over the {self.limits.notebook_s:.0f} s limit for a submission"
                              if total else f"{what}: over the {timeout:.0f} s limit")
            ready, _, _ = select.select([self._replies], [], [], left)
            if ready:
                chunk = self._replies.read(65536)
                if not chunk:
                    raise self._died()
                self._buffer += chunk
                if len(self._buffer) > 2**20:
                    self.kill()
                    raise Malformed("an over-long reply from the sandbox")
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            answer = json.loads(line)
        except ValueError:
            raise Malformed("a reply that is not JSON") from None
        if not isinstance(answer, dict):
            raise Malformed("a reply that is not a JSON object")
        return answer

    def _send(self, command: dict, timeout: float, what: str) -> dict:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write((json.dumps(command) + "\n").encode())
            stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died() from None
        return self._reply(timeout, what)

    # ------------------------------------------------------------------ what the grader asks

    def run_cell(self, index: int, source: str) -> str:
        """Run one cell; '' when it ran, else its error in one line."""
        answer = self._send({"op": "cell", "index": index, "source": source}, self.limits.cell_s, f"cell {index}")
        return "" if answer.get("ok") is True else str(answer.get("error", "error"))[:500]

    def _files(self) -> tuple[Path, Path]:
        self.count += 1
        return self.scratch / f"in_{self.count}.pt", self.scratch / f"out_{self.count}.pt"

    def call(self, target: str, args: tuple) -> Any:
        given, out = self._files()
        torch.save(_portable(list(args)), given)
        answer = self._send({"op": "call", "target": target, "args": str(given), "out": str(out)},
                            self.limits.call_s, f"calling {target}")
        if answer.get("ok") is not True:
            raise NameError(str(answer.get("error", "error"))[:500])
        try:
            return probes.decode_call(probes.load(out), args)
        except probes.MalformedResult as error:
            raise Malformed(str(error)) from None

    def probe(self, target: str, probe: Callable) -> Any:
        _, out = self._files()
        spec = f"{probe.__module__}:{probe.__name__}"
        answer = self._send({"op": "probe", "probe": spec, "target": target, "out": str(out)},
                            4 * self.limits.call_s, f"probing {target}")
        if answer.get("ok") is not True:
            raise NameError(str(answer.get("error", "error"))[:500])
        try:
            result = probes.load(out)
        except probes.MalformedResult as error:
            raise Malformed(str(error)) from None
        kind = result.get("kind") if isinstance(result, dict) else None
        if kind == "data":
            return result.get("value")
        if kind == "failed":
            raise AssertionError(str(result.get("message", ""))[:2000])
        if kind == "error":
            raise AssertionError(f"{target}: {result.get('type', 'Error')}: {str(result.get('message', ''))[:500]}")
        raise Malformed("a probe result of an unknown kind")

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self._send({"op": "exit"}, 5, "exiting")
            except (Stopped, Malformed):
                pass
        self.kill()
        self.process.wait(timeout=10)
        self._replies.close()
        self._temp.cleanup()


def _portable(value: Any) -> Any:
    """Arguments as they travel: tensors detached (they keep requires_grad), containers rebuilt."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone().requires_grad_(value.requires_grad and value.is_floating_point())
    if isinstance(value, dict):
        return {key: _portable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_portable(item) for item in value)
    return value


class SandboxedFunction:
    """Stands for a student's function that lives in a sandbox: calling it calls the real one
    there, on the same arguments, and returns what it returned, rebuilt from plain data."""

    is_sandboxed_function = True

    def __init__(self, session: Session, name: str) -> None:
        self._session, self.__name__ = session, name

    def __call__(self, *args: Any) -> Any:
        return self._session.call(self.__name__, args)

    def run_probe(self, probe: Callable) -> Any:
        return self._session.probe(self.__name__, probe)
