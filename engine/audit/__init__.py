"""The auditor's core: re-execute a case from its log and prove its outcome follows from the rules.

- :mod:`engine.audit.chain` — the hash chain and head check;
- :mod:`engine.audit.replay` — re-execution with the engine's own steps, and the as-of state;
- :mod:`engine.audit.verify` — chain + re-execution + final snapshot, per case or all cases;
- :mod:`engine.audit.bundle` — export a case as a zip bundle and verify one offline;
- :mod:`engine.audit.access_log` — who viewed, verified or exported what, and when;
- :mod:`engine.audit.cli` — ``cadreflow audit ...``.
"""
