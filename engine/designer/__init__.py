"""The process designer's engine side: drafts, lint, deploy with tests, versions and diffs, migration of
running cases, and BPMN interchange. No Flask here; ``webui`` calls these functions.

``files``
    a process as an in-memory file set ``{path: text}`` (validate it, load it as a bundle);
``drafts``
    one draft per process, kept apart from deployed versions; new process from a template;
``deploy``
    run a draft's process tests against the draft, deploy it as a new version (who and why);
``versions``
    list versions, semantic diff between two versions, export a version back to files;
``migration``
    dry run and migration of running cases to another version of their process;
``interchange``
    open a BPMN file made elsewhere: executable, drawing only, or refused naming the element;
``cli``
    the ``cadreflow`` commands for all of the above.
"""
