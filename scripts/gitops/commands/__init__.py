"""One module per CLI verb (see ``gitops.cli.VERBS``).

Each module exposes::

    def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                   verb: str, common: argparse.ArgumentParser) -> None:
        p = sub.add_parser(verb, parents=[common], help=..., description=...)
        ...
        p.set_defaults(handler=run)

    def run(args: argparse.Namespace) -> int: ...

Modules here are imported when the CLI starts, so they import heavy clients
(``kubernetes``, ``github``) only inside ``run``. ``run`` raises
:class:`gitops.errors.ConfigurationError` for user mistakes and returns an exit code.
"""
