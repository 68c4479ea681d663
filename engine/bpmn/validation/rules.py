"""The lint rules of cadreflow: an id per rule, shown in every problem it finds (``[lane-role] ...``).

Each rule is checked where the element it concerns is read: ``lane-role`` and ``form-exists`` with the
user tasks (``conventions``), ``timer-quoted`` with the timer expressions (``expressions``),
``loop-bound`` and ``read-before-write`` over the flow graph (``lint``). ``cadreflow validate`` and
the designer's save show the same problems.
"""

from __future__ import annotations

LANE_ROLE = "lane-role"
FORM_EXISTS = "form-exists"
TIMER_QUOTED = "timer-quoted"
LOOP_BOUND = "loop-bound"
READ_BEFORE_WRITE = "read-before-write"

RULES: dict[str, str] = {
    LANE_ROLE: "every user task lies in a lane named after a role that may own tasks",
    FORM_EXISTS: "every user task names its form (formJsonSchemaFilename), a file that exists in forms/",
    TIMER_QUOTED: 'a timer duration is a quoted string ("P7D") or a variable, never a bare ISO-8601 value',
    LOOP_BOUND: "every loop of sequence flows has a way out whose condition can change inside the loop",
    READ_BEFORE_WRITE: "every variable a condition reads is written by a form, script or decision before it",
}
