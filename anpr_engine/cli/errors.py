"""What every console script does with an error it cannot get past: one line on stderr
(`error: ...`) and an exit code, never a traceback (ANPR_LOG_LEVEL=DEBUG shows it too).

    exit 2   usage and configuration: ConfigError, the settings' ValidationError (one line per
             problem); typer's own usage errors stay typer's (also 2)
    exit 1   runtime failures: BadInput, BrokerError (BrokerUnreachable, AccessRefused, ...),
             StopRequested, InvariantBroken, an OSError (a file that cannot be read or written);
             a closed output pipe (`anpr-alerts | head`) exits 1 without a line

Every command and callback of a script's `App` is wrapped in `reported`, so no command catches
these itself; anything else (a bug) keeps its traceback.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError

from anpr_engine.config import SECRET_PROPERTY
from anpr_engine.errors import AnprError, BadInput, ConfigError

F = TypeVar("F", bound=Callable[..., Any])
USAGE, FAILED = 2, 1


class App(typer.Typer):
    """A console script: every command and callback registered on it reports errors as above."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return _reporting(super().command(*args, **kwargs))

    def callback(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return _reporting(super().callback(*args, **kwargs))


def _reporting(register: Callable[[F], F]) -> Callable[[F], F]:
    """typer's decorator `register`, registering the function wrapped in `reported`."""

    def decorator(f: F) -> F:
        register(reported(f))
        return f

    return decorator


def reported(f: F) -> F:
    """`f` with the errors of the package (and OSError) turned into one line and an exit code."""

    @functools.wraps(f)
    def command(*args: Any, **kwargs: Any) -> Any:
        if debugging() and not logging.getLogger().handlers:  # a tool configures no logging of its own
            logging.basicConfig(level=logging.DEBUG)
        try:
            return f(*args, **kwargs)
        except ValidationError as e:  # the settings (file, environment, options)
            fail(USAGE, [f"config: {line}" for line in settings_problems(e)], e)
        except ConfigError as e:
            fail(USAGE, str(e).splitlines(), e)
        except AnprError as e:
            fail(FAILED, str(e).splitlines(), e)
        except BrokenPipeError:  # the reader went away (`anpr-alerts | head`): nothing to say to it
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
            raise typer.Exit(FAILED) from None
        except OSError as e:
            fail(FAILED, [_os_error(e)], e)

    return command  # type: ignore[return-value]


@contextmanager
def input_file(path: Path) -> Iterator[None]:
    """Around reading a file the user gave: the file readers' ValueError is BadInput, an OSError
    stays one (both exit 1), each naming the file."""
    try:
        yield
    except AnprError:
        raise
    except ValueError as e:
        raise BadInput(str(e) if str(path) in str(e) else f"{path}: {e}") from e
    except OSError as e:
        if e.filename is None:
            e.filename = str(path)
        raise


def fail(code: int, lines: list[str], error: BaseException) -> NoReturn:
    """Print `lines` as `error: ...` (the traceback first when debugging) and exit with `code`."""
    if debugging():
        traceback.print_exception(error, file=sys.stderr)
    for line in lines or [type(error).__name__]:
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(code) from error


def debugging() -> bool:
    """Whether the process logs at debug level (ANPR_LOG_LEVEL=DEBUG, in any case, or its logging set so)."""
    return os.environ.get("ANPR_LOG_LEVEL", "").upper() == "DEBUG" or logging.getLogger().isEnabledFor(logging.DEBUG)


def settings_problems(err: ValidationError) -> list[str]:
    """One line per problem: where (dotted, as in the file; ANPR_ and `__` in the environment),
    what is wrong, and the value given unless it is a secret's."""
    lines = []
    for e in err.errors():
        where = ".".join(str(x) for x in e["loc"]) or "settings"
        secret = any(SECRET_PROPERTY.search(str(x)) for x in e["loc"])
        given = "" if secret or e["type"] == "missing" or "input" not in e else f" (given: {e['input']!r:.80})"
        lines.append(f"{where}: {e['msg']}{given}")
    return lines


def _os_error(e: OSError) -> str:
    """`path: reason` where the error names a file (`[Errno 13] Permission denied: 'x'` reads worse)."""
    if e.filename is not None and e.strerror:
        return f"{e.filename}: {e.strerror}"
    return str(e)
