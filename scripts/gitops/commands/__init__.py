"""One module per CLI verb (see ``gitops.cli.VERBS``; the one-line help is ``cli.SUMMARIES``).

Each module exposes::

    DESCRIPTION: str   # what the verb does, for `gitops VERB --help`
    EPILOG: str        # examples and exit codes, shown after the options

    def add_arguments(p: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace) -> int: ...

The CLI imports only the module of the verb being run, and modules import heavy clients
(``kubernetes``, ``github``) only inside ``run``. ``run`` raises
:class:`gitops.errors.ConfigurationError` for user mistakes and returns an exit code.
"""
