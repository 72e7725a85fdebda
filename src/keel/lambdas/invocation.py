"""Run one invocation of a function: its context, its timeout, its error, its log.

The handler runs on a thread of its own, so the caller (a web request, a worker's task,
the CLI) regains control when the function's timeout passes, as Lambda answers "Task
timed out" on time whatever the handler is doing. A sync Python thread cannot be killed:
at the timeout keel raises ``HandlerTimedOut`` inside it (``PyThreadState_SetAsyncExc``),
which stops Python code at its next bytecode; a handler blocked inside one C call (a
``time.sleep``, a socket read) stops when that call returns. Until then the thread is
abandoned, still running; it is logged when it ends. docs/lambdas.md says what this
costs, with the numbers of bench/lambda_timeout.py.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import logging
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from keel.lambdas import logcapture
from keel.lambdas.conf import lambda_settings
from keel.lambdas.context import ClientContext, LambdaContext, function_arn, new_request_id
from keel.lambdas.registry import Function

logger = logging.getLogger("keel.lambdas")


class HandlerTimedOut(BaseException):
    """Raised inside a handler that ran past its function's timeout.

    A BaseException, so that the ``except Exception`` blocks handlers are full of do not
    swallow it and carry on.
    """


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    request_id: str
    function: str
    #: What the handler returned (None when it failed).
    result: Any
    #: Lambda's error body (``errorMessage``, ``errorType``, ...) when it failed.
    error: dict[str, Any] | None
    timed_out: bool
    duration_ms: float
    #: The invocation's log, START to REPORT, when it was asked for.
    log: str

    @property
    def failed(self) -> bool:
        return self.error is not None


def invoke(
    function: Function,
    event: Any,
    *,
    request_id: str | None = None,
    client_context: ClientContext | None = None,
    qualifier: str | None = None,
    capture_log: bool = False,
) -> Outcome:
    """Call the function's handler on ``event`` and wait at most its timeout."""
    request_id = request_id or new_request_id()
    config = lambda_settings()
    started = time.monotonic()
    context = LambdaContext(
        function_name=function.name,
        memory_limit_in_mb=str(function.memory),
        invoked_function_arn=function_arn(
            region=config.region,
            account_id=config.account_id,
            name=function.name,
            qualifier=qualifier,
        ),
        aws_request_id=request_id,
        deadline=started + function.timeout,
        client_context=client_context,
    )
    box: dict[str, Any] = {}

    def run() -> None:
        from django.db import connections

        if capture_log:
            box["buffer"] = logcapture.begin(request_id)
        try:
            box["result"] = function.handler(event, context)
        except HandlerTimedOut:
            pass  # already reported as timed out; the thread ends here
        except BaseException as error:
            box["error"] = error
        finally:
            # The thread's own database connections: a thread that ends keeps them open.
            connections.close_all()

    def guarded(context_copy: contextvars.Context) -> None:
        # The timeout can land anywhere in the thread, even after the handler returned.
        with contextlib.suppress(HandlerTimedOut):
            context_copy.run(run)

    thread = threading.Thread(
        target=guarded,
        args=(contextvars.copy_context(),),
        name=f"lambda-{function.name}-{request_id[:8]}",
        daemon=True,
    )
    thread.start()
    thread.join(function.timeout)
    timed_out = thread.is_alive()
    if timed_out:
        _stop(thread, function, request_id)
    duration_ms = (time.monotonic() - started) * 1000
    error: dict[str, Any] | None = None
    if timed_out:
        error = timeout_error(request_id=request_id, timeout=function.timeout)
        logger.error(
            "%s %s Task timed out after %.2f seconds",
            datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            request_id,
            function.timeout,
            extra={"function": function.name, "request_id": request_id},
        )
    elif "error" in box:
        error = error_body(box["error"], request_id=request_id)
        logger.error(
            "function %s failed: %s: %s",
            function.name,
            error["errorType"],
            error["errorMessage"],
            extra={"function": function.name, "request_id": request_id, "lambda_error": error},
        )
    log = ""
    if capture_log:
        log = _framed(
            "".join(box.get("buffer", [])),
            request_id=request_id,
            duration_ms=duration_ms,
            function=function,
            timed_out=timed_out,
        )
    return Outcome(
        request_id=request_id,
        function=function.name,
        result=None if error else box.get("result"),
        error=error,
        timed_out=timed_out,
        duration_ms=duration_ms,
        log=log,
    )


def _stop(thread: threading.Thread, function: Function, request_id: str) -> None:
    """Raise ``HandlerTimedOut`` in the handler's thread; log when it has really ended."""
    assert thread.ident is not None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread.ident), ctypes.py_object(HandlerTimedOut)
    )
    stopped_at = time.monotonic()

    def report() -> None:
        thread.join()
        logger.warning(
            "handler of %s stopped %.3f s after its timeout",
            function.name,
            time.monotonic() - stopped_at,
            extra={"function": function.name, "request_id": request_id},
        )

    threading.Thread(target=report, name=f"lambda-reaper-{request_id[:8]}", daemon=True).start()


def error_body(error: BaseException, *, request_id: str) -> dict[str, Any]:
    """Lambda's body for an unhandled error: what botocore and the SDKs parse."""
    frames = traceback.extract_tb(error.__traceback__)
    # The first frame is keel's call of the handler, which Lambda's runtime leaves out.
    stack = traceback.format_list(frames[1:] if len(frames) > 1 else frames)
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": stack,
    }


def timeout_error(*, request_id: str, timeout: float) -> dict[str, Any]:
    """Lambda's body for an invocation stopped at its timeout."""
    return {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
    }


def _framed(
    text: str, *, request_id: str, duration_ms: float, function: Function, timed_out: bool
) -> str:
    """The invocation's log between Lambda's START, END and REPORT lines."""
    lines = [f"START RequestId: {request_id} Version: $LATEST\n", text]
    if text and not text.endswith("\n"):
        lines.append("\n")
    if timed_out:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lines.append(f"{stamp} {request_id} Task timed out after {function.timeout:.2f} seconds\n")
    lines.append(f"END RequestId: {request_id}\n")
    lines.append(
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {max(1, round(duration_ms))} ms\tMemory Size: {function.memory} MB\t\n"
    )
    return "".join(lines)
