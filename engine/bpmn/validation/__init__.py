"""The stages of validating a process folder, one concept per module; :mod:`engine.bpmn.loader` runs them.

``problems``
    the file under validation (:class:`~engine.bpmn.validation.problems.Doc`), the problem collector and
    how a problem is located (line, element id a designer knows);
``guard``
    exceptions from lxml and SpiffWorkflow become located problems;
``xml``
    stage 1: safe XML (DOCTYPE and entities refused before parsing);
``schema``
    stage 2: BPMN/DMN XSD;
``references``
    stage 3: flows, boundary events, call activities and decisions refer to what exists; one top process;
``spiff_parse``
    stage 3: SpiffWorkflow's own parse, process by process;
``conventions``, ``forms``
    stage 4: cadreflow's rules for user tasks (lanes/roles, form, dueIn, unitKey) and reading form files;
``expressions``, ``decisions``
    stage 4: scripts, conditions, timers and DMN cells compile in the sandbox as the engine will run them.

Nothing is re-exported here: importing the package must not import every stage (no import cycles).
"""
