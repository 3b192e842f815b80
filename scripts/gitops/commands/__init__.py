"""One module per CLI verb (see ``gitops.cli.VERBS``; the one-line help is ``cli.SUMMARIES``).

Commands are presentation only: parse the flags (shared ones are declared once in
:mod:`gitops.commands.options`, which also says how an action input reaches a flag), call ONE
use case in :mod:`gitops.operations`, and print its result (:mod:`gitops.commands.output`:
JSON, a table, the job summary and step outputs). Each module exposes::

    DESCRIPTION: str   # what the verb does, for `gitops VERB --help`
    EPILOG: str        # examples and exit codes, shown after the options

    def add_arguments(p: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace) -> int: ...

The CLI imports only the module of the verb being run, and modules import heavy clients
(``kubernetes``, ``github``) only inside ``run``. ``run`` raises
:class:`gitops.errors.ConfigurationError` for user mistakes and returns an exit code.
"""
