"""The sandbox every designer-supplied expression runs in.

Scripts, pre/post scripts, gateway conditions, timer expressions and DMN cells come from BPMN/DMN
files that designers upload, so they are untrusted (DESIGN.md §2). SpiffWorkflow's stock engine
runs them with plain ``exec``/``eval``, where ``__import__('os')`` or the
``().__class__.__base__.__subclasses__()`` walk reaches the file system, the database and the
network. Here every source is compiled with RestrictedPython and run against a small allow-list.

What a script can use
---------------------
* Task data (read/write in scripts, read only in expressions) and, for DMN cells and conditions,
  what SpiffWorkflow passes as ``external_context`` (``dmninputexpr``, data objects).
* Builtins: RestrictedPython's ``safe_builtins`` (constants, exceptions except the ``BaseException``
  family, ``abs bool callable chr complex divmod float hex int isinstance issubclass len oct ord
  repr round slice str``) plus ``sorted min max sum any all enumerate zip map filter reversed list
  dict set tuple`` and guarded ``range`` (at most 1,000,000 items) and ``pow`` (no huge results).
  Deliberately absent: ``__import__ open eval exec compile getattr setattr delattr type vars dir
  globals locals id hash input breakpoint``, ``random`` and any module. ``print`` is accepted and
  discarded (there is nobody to read it).
* Helpers: ``age_on(birth_date, on)``, ``ratio_at_least(numerator, denominator, threshold)``,
  ``exact(x, divisor=1)``, ``to_float(x)``, ``iso_duration_ok(text)`` (see each for details), and in
  expressions ``optional(name, default=None)`` for task data that may be absent.

What the compiler refuses (RestrictedPython's policy plus a few rules of ours)
-----------------------------------------------------------------------------
Names and attributes starting with ``_``; frame/generator introspection attributes; ``exec``/
``eval`` calls; ``import``; ``class``; ``with``; ``try`` (an ``except`` clause could catch the
timeout below, and CPython switches tracing off once a trace function raises, so a caught
timeout would let the loop run forever); ``nonlocal``; ``async``. Attribute access goes through a
getter that also refuses ``str.format`` and ``mro``; item and attribute assignment only work on
plain ``dict``/``list`` objects.

Run-time bound
--------------
Each run gets a step budget (default 2,000,000) counted with ``sys.settrace`` in the current
thread: one step per line executed in designer code and per Python function call. When it is
used up a :class:`ScriptTimeout` is raised. This works in any thread (``signal.alarm`` only works
in the main one) and the previous trace function (pytest, coverage, a debugger) is restored
afterwards. Bulk work done inside one C call is charged by size where the sandbox can see it:
``range(n)`` costs ``n`` steps and a sequence built with ``*`` costs its length.

What the budget does NOT stop: a single long call into C. The sandbox therefore refuses, before
the call, arithmetic that would build huge numbers (``10**10**8``, ``1 << 10**9``, squaring loops
on ints/Fractions: about 100,000 bits at most), sequences over 1,000,000 items or characters
built with ``+``/``*`` (``'x' * 10**10``, doubling ``s = s + s``), and ranges over 1,000,000
items. It does not bound memory or time of other single C calls that scripts can still make with
large arguments: ``str.join``/``str.replace`` on large inputs, padding (``'x'.ljust(10**9)``,
f-string or ``%`` widths), ``int.to_bytes(10**9)``, ``sum`` over many lists. Run workers with an
OS memory limit (container limit or ``RLIMIT_AS``) for those.

Script-local names: a top-level name starting with ``tmp_`` (loop variables, intermediate lists)
is never stored in the task data, so scripts need no ``del`` for their temporaries and an empty
loop cannot leave a half-defined name behind.

Determinism: scripts see no clock, randomness or ids. ``set`` iteration order of strings changes
between processes (hash randomisation): sort before storing anything derived from a set.
"""

from __future__ import annotations

import ast
import copy
import math
import operator
import re
import sys
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from fractions import Fraction
from types import CodeType, FrameType
from typing import Any, Literal

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Guards import (
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr_raise,
)
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer, copy_locations
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.errors import ScriptError, ScriptTimeout

__all__ = [
    "DEFAULT_STEP_BUDGET",
    "MAX_INT_BITS",
    "MAX_RANGE",
    "MAX_SEQUENCE",
    "SandboxEnvironment",
    "SandboxScriptEngine",
    "age_on",
    "compile_check",
    "exact",
    "iso_duration_ok",
    "ratio_at_least",
    "to_float",
]

Mode = Literal["exec", "eval"]

DEFAULT_STEP_BUDGET = 2_000_000
TEMP_PREFIX = "tmp_"  # top-level names with this prefix are script-local: never written back
MAX_RANGE = 1_000_000
MAX_SEQUENCE = 1_000_000
MAX_INT_BITS = 100_000
MAX_JSON_DEPTH = 100
CACHE_SIZE = 1024

# Code objects compiled here carry this file name: the tracer and the error reporter use it to
# tell designer code from the helpers and guards below.
_FILENAME = "<cadreflow-script>"
_JSON_TYPES = "str, int, float, bool, None, list, dict"


# --------------------------------------------------------------------------------------------
# Helpers exposed to scripts
# --------------------------------------------------------------------------------------------


def _parse_date(value: object, what: str) -> date:
    if not isinstance(value, str):
        raise TypeError(f"age_on(): {what} must be an ISO date string 'YYYY-MM-DD', not {_a(value)}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"age_on(): {what} {value!r} is not an ISO date 'YYYY-MM-DD'") from None


def age_on(birth_date: str, on: str) -> int:
    """Completed years on date ``on`` for someone born on ``birth_date`` (ISO 'YYYY-MM-DD').

    The birthday itself completes the year. A 29 February birthday completes on 1 March in common
    years (the 28th is still the day before it), which is how the eligibility rules count it.
    """
    born = _parse_date(birth_date, "birth_date")
    day = _parse_date(on, "on")
    if day < born:
        raise ValueError(f"age_on(): {on} is before the birth date {birth_date}")
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _fraction(value: object, what: str) -> Fraction:
    """Exact value of a number: floats go through ``str`` so 0.55 means 55/100, not its binary."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise TypeError(f"{what} must be a number, not {_a(value)}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, not {value}")
    return Fraction(str(value))


def ratio_at_least(numerator: float, denominator: float, threshold: float) -> bool:
    """Whether ``numerator / denominator >= threshold``, decided exactly.

    Compares ``numerator >= threshold * denominator`` on exact fractions so quota rules such as
    "at least 55 %" hold at the boundary (55 of 100 meets 0.55; with floats it may not).
    """
    num = _fraction(numerator, "ratio_at_least(): numerator")
    den = _fraction(denominator, "ratio_at_least(): denominator")
    if den <= 0:
        raise ValueError(f"ratio_at_least(): denominator must be > 0, not {denominator}")
    return num >= _fraction(threshold, "ratio_at_least(): threshold") * den


def exact(x: float | Fraction, divisor: float | Fraction = 1) -> Fraction:
    """Exact value of ``x / divisor`` for sort keys and comparisons inside a script.

    Not storable: a Fraction left in a variable is refused by the task-data JSON check; use
    ``to_float`` for figures that are stored.
    """
    den = _fraction(divisor, "exact(): divisor")
    if den == 0:
        raise ZeroDivisionError("exact(): divisor is zero")
    return _fraction(x, "exact(): x") / den


def to_float(x: float | Fraction) -> float:
    """A float for storing a computed figure (e.g. the result of ``exact``) in task data."""
    return float(_fraction(x, "to_float(): x"))


_NUM = r"\d+(?:[.,]\d+)?"
_DURATION = re.compile(
    rf"P(?:(?P<W>{_NUM})W|(?:(?P<Y>{_NUM})Y)?(?:(?P<Mo>{_NUM})M)?(?:(?P<D>{_NUM})D)?"
    rf"(?P<T>T(?:(?P<H>{_NUM})H)?(?:(?P<Mi>{_NUM})M)?(?:(?P<S>{_NUM})S)?)?)"
)


def iso_duration_ok(text: object) -> bool:
    """Whether ``text`` is an ISO-8601 duration such as ``P7D``, ``PT12H`` or ``P1Y2M``.

    Strict on purpose (upper case, at least one component, ``T`` only before a time component,
    a decimal fraction only on the last component, weeks alone), which keeps it a subset of what
    SpiffWorkflow's own timer parser accepts: its parser lower-cases the text and takes a bare
    ``P`` as a zero duration.
    """
    if not isinstance(text, str):
        return False
    match = _DURATION.fullmatch(text)
    if match is None:
        return False
    parts = [match.group(g) for g in ("W", "Y", "Mo", "D", "H", "Mi", "S") if match.group(g)]
    if not parts:
        return False
    if match.group("T") and not any(match.group(g) for g in ("H", "Mi", "S")):
        return False
    return all(part.isdigit() for part in parts[:-1])


HELPERS: dict[str, Callable[..., Any]] = {
    "age_on": age_on,
    "ratio_at_least": ratio_at_least,
    "exact": exact,
    "to_float": to_float,
    "iso_duration_ok": iso_duration_ok,
}


# --------------------------------------------------------------------------------------------
# Budget
# --------------------------------------------------------------------------------------------


class _Budget:
    """Steps left for one run; its ``trace`` method is the ``sys.settrace`` hook."""

    __slots__ = ("exceeded", "limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.exceeded = False

    def timeout_error(self) -> ScriptTimeout:
        self.exceeded = True
        return ScriptTimeout(
            f"step budget of {self.limit:,} steps used up; the script probably loops forever"
        )

    def charge(self, steps: int) -> None:
        """Charge bulk work done in one C call (a range, a repeated sequence) by its size."""
        self.used += steps
        if self.used > self.limit:
            raise self.timeout_error()

    def trace(self, frame: FrameType, event: str, arg: object) -> Callable[..., Any] | None:
        if event == "line" or event == "call":
            self.used += 1
            if self.used > self.limit:
                raise self.timeout_error()
        if event == "call" and frame.f_code.co_filename != _FILENAME:
            return None  # count the call into a helper, but not the helper's own lines
        return self.trace


_state = threading.local()


def _charge(steps: int) -> None:
    budget: _Budget | None = getattr(_state, "budget", None)
    if budget is not None:
        budget.charge(steps)


# --------------------------------------------------------------------------------------------
# Guards
# --------------------------------------------------------------------------------------------

_SEQUENCES = (str, bytes, list, tuple)


def _bits(value: object) -> int:
    """Size of an int or Fraction in bits (0 for anything whose size does not explode)."""
    if isinstance(value, int):
        return abs(value).bit_length()
    if isinstance(value, Fraction):
        return max(abs(value.numerator).bit_length(), value.denominator.bit_length())
    return 0


def _check_size(op: str, left: object, right: object) -> None:
    """Refuse, before the C call, an operation whose result would be huge (see module docstring)."""
    if op in ("+", "*") and (isinstance(left, _SEQUENCES) or isinstance(right, _SEQUENCES)):
        size = 0
        if op == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            size = len(left) + len(right)
        elif op == "*":
            seq, times = (left, right) if isinstance(left, _SEQUENCES) else (right, left)
            if isinstance(times, int) and isinstance(seq, _SEQUENCES):
                size = len(seq) * max(times, 0)
                if size <= MAX_SEQUENCE:
                    _charge(size)
        if size > MAX_SEQUENCE:
            raise ScriptError(
                f"'{op}' would build a sequence of {size:,} items; the limit is {MAX_SEQUENCE:,}"
            )
        return
    left_bits, right_bits = _bits(left), _bits(right)
    if not (left_bits or right_bits):
        return
    if op == "**":
        if not isinstance(right, int) or left_bits <= 1 or (isinstance(left, int) and right < 0):
            return
        estimate = left_bits * abs(right)
    elif op == "<<":
        estimate = left_bits + right if isinstance(right, int) else 0
    elif op == "*" or isinstance(left, Fraction) or isinstance(right, Fraction):
        estimate = left_bits + right_bits + 1
    else:
        estimate = max(left_bits, right_bits) + 1
    if estimate > MAX_INT_BITS:
        raise ScriptError(
            f"'{op}' would build a number of about {estimate:,} bits; the limit is {MAX_INT_BITS:,}"
        )


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
    "<<": operator.lshift,
}

_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "|=": operator.ior,
    "^=": operator.ixor,
    "&=": operator.iand,
}


def _guarded_binop(op: str, left: Any, right: Any) -> Any:
    """``left op right`` for the operators whose result size can explode (rewritten by the policy)."""
    _check_size(op, left, right)
    return _BINARY[op](left, right)


def _guarded_inplacevar(op: str, target: Any, value: Any) -> Any:
    """RestrictedPython turns ``x += y`` into ``x = _inplacevar_('+=', x, y)``."""
    function = _INPLACE.get(op)
    if function is None:
        raise TypeError(f"'{op}' is not supported in scripts")
    _check_size(op[:-1], target, value)
    return function(target, value)


def _guarded_range(*args: int) -> range:
    """``range`` limited to MAX_RANGE items and charged to the budget by its length."""
    result = range(*args)
    try:
        size = len(result)
    except OverflowError:
        size = MAX_RANGE + 1
    if size > MAX_RANGE:
        raise ScriptError(f"a range of more than {MAX_RANGE:,} items is not allowed")
    _charge(size)
    return result


def _guarded_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    """``pow`` without huge results; the three-argument form stays small and is not checked."""
    if mod is not None:
        return pow(base, exp, mod)
    _check_size("**", base, exp)
    return pow(base, exp)


_MUTATORS = frozenset(
    {
        "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",  # list
        "update", "setdefault", "popitem",  # dict
        "add", "discard", "difference_update", "intersection_update", "symmetric_difference_update",
    }
)
_CONTAINERS = (list, dict, set)


def _getattr_checked(obj: Any, name: str) -> Any:
    if not isinstance(name, str):
        raise TypeError("attribute names must be str")
    if name.startswith("_") or name in INSPECT_ATTRIBUTES or name == "mro":
        raise ScriptError(f"access to {name!r} is refused")
    return safer_getattr_raise(obj, name)


def _guarded_getattr(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` in a script.

    RestrictedPython 9's ``safer_getattr`` returns ``None`` for a missing attribute (its default is
    ``None``, not "raise"), which would hide typos; this one raises AttributeError as Python does.
    """
    return _getattr_checked(obj, name)


def _readonly_getattr(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` in an expression: also refuses methods that change lists, dicts and sets."""
    if name in _MUTATORS and (
        isinstance(obj, _CONTAINERS) or (isinstance(obj, type) and issubclass(obj, _CONTAINERS))
    ):
        owner = obj.__name__ if isinstance(obj, type) else type(obj).__name__
        raise ScriptError(f"expressions may not change task data ({owner}.{name} is refused)")
    return _getattr_checked(obj, name)


def _guarded_getitem(obj: Any, key: Any) -> Any:
    return obj[key]


def _guarded_write(obj: Any) -> Any:
    """Target of ``x[k] = v``, ``del x[k]`` and ``x.a = v``: only plain task-data containers."""
    if type(obj) is dict or type(obj) is list:
        return obj
    raise ScriptError(f"cannot change a {type(obj).__name__} in place; only dict and list items can be set")


def _guarded_apply(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """RestrictedPython routes ``f(*a, **k)`` calls here."""
    return function(*args, **kwargs)


class _DiscardPrints:
    """``print`` target: there is no console to read it, and collecting would cost memory."""

    def __init__(self, _getattr_: object = None) -> None:
        pass

    def __call__(self) -> str:
        return ""

    def _call_print(self, *objects: object, **kwargs: object) -> None:
        return None


_REMOVED_BUILTINS = frozenset(
    {
        "__build_class__", "_getattr_", "id", "hash", "setattr", "delattr",
        "BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit",
    }
)
_BUILTINS: dict[str, Any] = {k: v for k, v in safe_builtins.items() if k not in _REMOVED_BUILTINS}
_BUILTINS.update(
    sorted=sorted, min=min, max=max, sum=sum, any=any, all=all, enumerate=enumerate, zip=zip,
    map=map, filter=filter, reversed=reversed, list=list, dict=dict, set=set, tuple=tuple,
    len=len, abs=abs, round=round, int=int, float=float, str=str, bool=bool, isinstance=isinstance,
    range=_guarded_range, pow=_guarded_pow,
)

# Names a script might try that are deliberately missing, for a clearer NameError message.
_DENIED_NAMES = frozenset(
    {
        "open", "eval", "exec", "compile", "getattr", "setattr", "delattr", "hasattr", "type",
        "vars", "dir", "globals", "locals", "id", "hash", "input", "breakpoint", "help", "exit",
        "quit", "memoryview", "object", "super", "random", "os", "sys", "__import__", "iter", "next",
    }
)

_GUARDS: dict[str, Any] = {
    "_getitem_": _guarded_getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": _guarded_write,
    "_inplacevar_": _guarded_inplacevar,
    "_binop_": _guarded_binop,
    "_apply_": _guarded_apply,
    "_print_": _DiscardPrints,
    "_print": _DiscardPrints(),
}
_EXEC_BASE: dict[str, Any] = {"__builtins__": _BUILTINS, **_GUARDS, "_getattr_": _guarded_getattr, **HELPERS}
_EVAL_BASE: dict[str, Any] = {"__builtins__": _BUILTINS, **_GUARDS, "_getattr_": _readonly_getattr, **HELPERS}
_RESERVED = frozenset(_EXEC_BASE) | {"optional"}
# Names every script and expression can use without defining them (builtins and helpers): the lint
# rule on variables read before they are written does not count them as variables.
PREDEFINED_NAMES: frozenset[str] = frozenset(_BUILTINS) | frozenset(HELPERS)


def _optional(context: Mapping[str, Any]) -> Callable[..., Any]:
    """``optional(name, default=None)``: a task-data value that may be absent (e.g. data a case was
    started with), without a NameError. Bound to the data of the one evaluation."""

    def optional(name: str, default: Any = None) -> Any:
        return context.get(name, default) if isinstance(name, str) else default

    return optional


# --------------------------------------------------------------------------------------------
# Compilation
# --------------------------------------------------------------------------------------------

_BINOP_SYMBOLS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.LShift: "<<",
}


class _SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus: no import/class/with/try, and size-checked arithmetic."""

    def _refuse(self, node: ast.AST, message: str) -> ast.AST:
        self.error(node, message)
        return node

    def visit_Import(self, node: ast.Import) -> ast.AST:
        return self._refuse(node, "import is not allowed; scripts can use only the listed helpers")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        return self._refuse(node, "import is not allowed; scripts can use only the listed helpers")

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return self._refuse(node, "class definitions are not allowed")

    def visit_With(self, node: ast.With) -> ast.AST:
        return self._refuse(node, "'with' is not allowed")

    def visit_Try(self, node: ast.Try) -> ast.AST:
        return self._refuse(node, "try/except is not allowed (it could swallow the step-budget timeout)")

    def visit_TryStar(self, node: ast.AST) -> ast.AST:
        return self._refuse(node, "try/except is not allowed (it could swallow the step-budget timeout)")

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        symbol = _BINOP_SYMBOLS.get(type(node.op))
        if symbol is None:
            return node
        call = ast.Call(
            func=ast.Name("_binop_", ast.Load()),
            args=[ast.Constant(symbol), node.left, node.right],
            keywords=[],
        )
        copy_locations(call, node)
        return call


_RP_LINE = re.compile(r"Line (\d+|None): (.*)", re.DOTALL)
_RP_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r'"([^"]+)" is an invalid variable name because it starts with "_"'),
     "'{0}' is not allowed (names starting with '_' are reserved)"),
    (re.compile(r'"([^"]+)" is an invalid attribute name because it starts with "_"'),
     "access to '{0}' is refused"),
    (re.compile(r'"([^"]+)" is a restricted name'), "access to '{0}' is refused"),
    (re.compile(r'"([^"]+)" is a reserved name'), "'{0}' is not allowed"),
    (re.compile(r"(Exec|Eval) calls are not allowed"), "'{0}' is not allowed"),
)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _rewrite_rp_error(error: str) -> tuple[int, str]:
    """Turn one RestrictedPython error string into (line, message a designer can act on)."""
    match = _RP_LINE.match(error)
    line, message = (1, error) if match is None else (int(match[1]) if match[1] != "None" else 1, match[2])
    for pattern, template in _RP_REWRITES:
        found = pattern.search(message)
        if found:
            message = template.format(found[1].lower() if found[1] in ("Exec", "Eval") else found[1])
            break
    return line, _one_line(message)


def _compile(source: str, mode: Mode) -> tuple[CodeType | None, int, str]:
    """Compile under the sandbox policy: ``(code, 0, "")`` or ``(None, line, message)``."""
    if not isinstance(source, str):
        return None, 1, f"expected source text, not {_a(source)}"
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    try:
        result = compiler(source, filename=_FILENAME, policy=_SandboxPolicy)
    except SyntaxError as exc:  # raised by compile() after the policy, e.g. 'return' outside function
        return None, exc.lineno or 1, _one_line(f"SyntaxError: {exc.msg}")
    except (ValueError, TypeError) as exc:  # e.g. NUL bytes in the source
        return None, 1, _one_line(f"{type(exc).__name__}: {exc}")
    if result.errors:
        line, message = _rewrite_rp_error(result.errors[0])
        return None, line, message
    assert result.code is not None
    return result.code, 0, ""


def compile_check(source: str, mode: str) -> str | None:
    """``None`` if ``source`` compiles in the sandbox, else ``"line N: message"`` (one line).

    Used by the definition validator to report ``file:line: element-id: message`` at upload time,
    so a refused script is found before any case runs it. Nothing is executed.
    """
    if mode not in ("exec", "eval"):
        raise ValueError(f"mode must be 'exec' or 'eval', not {mode!r}")
    code, line, message = _compile(source, "exec" if mode == "exec" else "eval")
    return None if code is not None else f"line {line}: {message}"


# --------------------------------------------------------------------------------------------
# Error reporting and JSON check
# --------------------------------------------------------------------------------------------


def _a(value: object) -> str:
    """'a Fraction' / 'an int': the type of a value for messages."""
    name = "None" if value is None else type(value).__name__
    return name if value is None else (f"an {name}" if name[0].lower() in "aeiou" else f"a {name}")


def _clip(source: str, limit: int = 80) -> str:
    text = _one_line(source)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _where(mode: Mode, source: str, line: int | None) -> str:
    if mode == "exec":
        return f"script line {line}" if line else "script"
    return f"expression {_clip(source)!r}"


def _script_line(exc: BaseException) -> int | None:
    """Line of the innermost designer-code frame the exception passed through."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == _FILENAME:
            line = frame.lineno
    return line


def _describe(exc: Exception) -> str:
    if isinstance(exc, NameError) and getattr(exc, "name", None) in _DENIED_NAMES:
        return f"'{exc.name}' is not allowed"
    text = str(exc)
    return _one_line(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def _json_problem(value: Any, path: str, depth: int) -> tuple[str, str] | None:
    """``(what, where)`` for the first non-JSON-native part of ``value``, else None."""
    kind = type(value)
    if value is None or kind is str or kind is bool or kind is int:
        return None
    if kind is float:
        return None if math.isfinite(value) else (f"a non-finite float ({value})", path)
    if kind is list or kind is dict:
        if depth >= MAX_JSON_DEPTH:
            return (f"data nested deeper than {MAX_JSON_DEPTH} levels", path)
        if kind is list:
            for index, item in enumerate(value):
                problem = _json_problem(item, f"{path}[{index}]", depth + 1)
                if problem:
                    return problem
            return None
        for key, item in value.items():
            if type(key) is not str:
                return (f"a dict key {key!r} that is not a str", path)
            problem = _json_problem(item, f"{path}[{key!r}]", depth + 1)
            if problem:
                return problem
        return None
    return (_a(value), path)


def _same(left: Any, right: Any, depth: int = 0) -> bool:
    """Equal and of the same types all the way down (``1 == 1.0 == True`` is not "the same")."""
    if type(left) is not type(right):
        return False
    if depth >= MAX_JSON_DEPTH:
        return False
    if type(left) is list:
        if len(left) != len(right):
            return False
        return all(_same(a, b, depth + 1) for a, b in zip(left, right, strict=True))
    if type(left) is dict:
        return list(left) == list(right) and all(_same(left[k], right[k], depth + 1) for k in left)
    if type(left) is float and math.isnan(left):
        return math.isnan(right)
    return bool(left == right)


def _shadowing(context: Iterable[str], external: Mapping[str, Any]) -> None:
    clashes = sorted(_RESERVED.intersection(context) | _RESERVED.intersection(external))
    if clashes:
        names = ", ".join(repr(name) for name in clashes)
        raise ScriptError(
            f"task data key(s) {names} shadow script helper names; rename the field(s) or variable(s)"
        )


# --------------------------------------------------------------------------------------------
# Environment and engine
# --------------------------------------------------------------------------------------------


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment that runs designer code under RestrictedPython.

    ``evaluate`` serves conditions, timer expressions and DMN cells; ``execute`` serves script
    tasks and pre/post scripts. SpiffWorkflow also calls ``environment.evaluate`` directly (event
    sub-process completion conditions, message correlations), so errors are already typed here.
    """

    def __init__(self, step_budget: int = DEFAULT_STEP_BUDGET, *, cache_size: int = CACHE_SIZE) -> None:
        super().__init__(dict(HELPERS))
        if step_budget < 1:
            raise ValueError("step_budget must be positive")
        self.step_budget = step_budget
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], tuple[CodeType | None, int, str]] = OrderedDict()
        self._lock = threading.Lock()

    # -- compilation -------------------------------------------------------------------------

    def _entry(self, source: str, mode: Mode) -> tuple[CodeType | None, int, str]:
        """Compile result from the bounded cache (the same conditions and cells run on every step)."""
        if not isinstance(source, str):
            return _compile(source, mode)
        key = (mode, source)
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None:
                self._cache.move_to_end(key)
                return entry
        entry = _compile(source, mode)
        with self._lock:
            self._cache[key] = entry
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return entry

    def check(self, source: str, mode: Mode) -> str | None:
        """:func:`compile_check` through the cache (the DMN engine validates every cell on every run)."""
        code, line, message = self._entry(source, mode)
        return None if code is not None else f"line {line}: {message}"

    def _code(self, source: str, mode: Mode) -> CodeType:
        code, line, message = self._entry(source, mode)
        if code is None:
            where = f"script line {line}" if mode == "exec" else _where(mode, str(source), None)
            raise ScriptError(f"{where}: {message}")
        return code

    # -- running -----------------------------------------------------------------------------

    def _run(self, code: CodeType, run_globals: dict[str, Any], mode: Mode, source: str) -> Any:
        """Run ``code`` under the step budget; every failure comes out as a ScriptError."""
        budget = _Budget(self.step_budget)
        outer_budget = getattr(_state, "budget", None)
        previous_trace = sys.gettrace()
        failure: Exception | None = None
        result: Any = None
        _state.budget = budget
        sys.settrace(budget.trace)
        try:
            result = eval(code, run_globals)  # restricted code, restricted globals
        # Any failure of designer code. No calls in this handler: the tracer is still counting.
        except Exception as exc:  # noqa: BLE001
            failure = exc
        finally:
            sys.settrace(previous_trace)
            _state.budget = outer_budget
        if failure is not None:
            where = _where(mode, source, _script_line(failure))
            if isinstance(failure, ScriptTimeout) or budget.exceeded:
                raise ScriptTimeout(f"{where}: {budget.timeout_error().message}") from None
            if isinstance(failure, ScriptError):
                raise ScriptError(f"{where}: {failure.message}") from failure
            raise ScriptError(f"{where}: {_describe(failure)}") from failure
        if budget.exceeded:  # a timeout was swallowed somehow: still a timeout
            raise ScriptTimeout(f"{_where(mode, source, None)}: {budget.timeout_error().message}")
        return result

    def evaluate(
        self, expression: str, context: dict[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> Any:
        """Value of ``expression`` over the task data; the data is only read."""
        external = external_context or {}
        _shadowing(context, external)
        code = self._code(expression, "eval")
        run_globals: dict[str, Any] = {**external, **context, **_EVAL_BASE, "optional": _optional(context)}
        return self._run(code, run_globals, "eval", expression)

    def execute(
        self, script: str, context: dict[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> bool:
        """Run ``script`` on a copy of the task data and write back what it changed.

        Written back: every top-level name the script created or rebound, or whose value it changed
        in place, provided all are JSON-native; names it deleted with ``del`` are removed. Helpers,
        guards, external-context names, ``tmp_`` names (script-local by convention) and callables are
        never written back.
        On any failure ``context`` is left exactly as it was.
        """
        external = external_context or {}
        _shadowing(context, external)
        clashes = sorted(set(external).intersection(context))
        if clashes:
            names = ", ".join(map(repr, clashes))
            raise ScriptError(f"task data key(s) {names} clash with engine-provided names")
        code = self._code(script, "exec")
        work = copy.deepcopy(context)
        run_globals: dict[str, Any] = {**external, **work, **_EXEC_BASE}
        self._run(code, run_globals, "exec", script)

        updates: dict[str, Any] = {}
        for name, value in run_globals.items():
            private = name.startswith(("_", TEMP_PREFIX))
            if private or name in _RESERVED or name in external or callable(value):
                continue
            if name in context and _same(value, context[name]):
                continue
            updates[name] = value
        for name in sorted(updates):
            problem = _json_problem(updates[name], name, 0)
            if problem:
                what, path = problem
                at = "" if path == name else f" at {_clip(path, 60)}"
                raise ScriptError(
                    f"variable {name!r} holds {what}{at}; task data must be JSON ({_JSON_TYPES})"
                )
        deleted = [name for name in context if name not in run_globals]
        context.update(updates)
        for name in deleted:
            del context[name]
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        """Service tasks would reach the network; designer files get none."""
        raise ScriptError("service tasks are not available to designer files")


def _element_id(task: Any) -> str | None:
    return getattr(getattr(task, "task_spec", None), "bpmn_id", None)


class SandboxScriptEngine(PythonScriptEngine):
    """SpiffWorkflow script engine that runs everything through a :class:`SandboxEnvironment`.

    Errors come out as :class:`ScriptError` (or :class:`ScriptTimeout`) carrying the BPMN element
    id, instead of SpiffWorkflow's WorkflowTaskException, so callers see one typed error shape.
    """

    environment: SandboxEnvironment

    def __init__(self, environment: SandboxEnvironment | None = None) -> None:
        super().__init__(environment=environment or SandboxEnvironment())

    def validate(self, expression: str) -> None:
        """Raise SyntaxError if ``expression`` does not compile in the sandbox (eval mode).

        The DMN engine's ``needs_eq`` relies on SyntaxError to tell ``"a"`` (needs ``==``) from
        ``> 5`` (an operator already present).
        """
        problem = self.environment.check(expression, "eval")
        if problem is not None:
            raise SyntaxError(problem)

    @staticmethod
    def _located(error: ScriptError, task: Any) -> ScriptError:
        if error.element_id is None:
            error.element_id = _element_id(task)
        return error

    def evaluate(self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except ScriptError as error:
            self._located(error, task)
            raise
        except Exception as exc:
            message = f"expression {_clip(str(expression))!r}: {_describe(exc)}"
            raise self._located(ScriptError(message), task) from exc

    def execute(self, task: Any, script: str, external_context: Mapping[str, Any] | None = None) -> bool:
        try:
            return self.environment.execute(script, task.data, external_context)
        except ScriptError as error:
            self._located(error, task)
            raise
        except Exception as exc:
            line = _script_line(exc)
            message = f"{_where('exec', str(script), line)}: {_describe(exc)}"
            raise self._located(ScriptError(message), task) from exc

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        """The base version refers to an undefined ``script`` when the service fails; refuse cleanly."""
        raise self._located(ScriptError("service tasks are not available to designer files"), task)
