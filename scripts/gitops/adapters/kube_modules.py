"""The few modules of the ``kubernetes`` package the Kube adapters use, without the rest.

:mod:`gitops.adapters.kube` and :mod:`gitops.adapters.kube_connection` load them through here.

``import kubernetes.client.rest`` first runs ``kubernetes/__init__.py``, which imports every part
of the client: the kubeconfig loaders with their OAuth libraries, the typed ``ApiClient`` with its
pydantic models, the dynamic client (and kubernetes-validate when it is installed), websocket
streams, informers, leader election. That costs 0.2 s of every run with compiled bytecode and
0.8 s on a fresh venv (the first ``gitops`` call of each CI job, which compiles what it imports),
for three small modules: ``client.configuration`` (the settings), ``client.rest`` (the urllib3
pool built from them: TLS, client certificates, proxies with ``no_proxy`` and SOCKS, keep-alive)
and ``client.exceptions``. The kubeconfig loader ``config.kube_config`` is imported only for the
users that need it (exec plugins, auth providers).

So the package is registered without running its ``__init__``: its submodules import as usual
and run their own. Anyone asking the package for something else afterwards
(``kubernetes.__version__``, ``kubernetes.watch`` as an attribute, ``from kubernetes import
dynamic``) gets the whole ``__init__`` run at that moment, exactly as ``import kubernetes`` would
have, so the rest of the process sees the complete package.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

_lock = threading.RLock()


def module(name: str) -> ModuleType:
    """``kubernetes.<name>`` (e.g. ``"client.rest"``), without running ``kubernetes/__init__.py``."""
    with _lock:
        if "kubernetes" not in sys.modules:
            sys.modules["kubernetes"] = _package()
    return importlib.import_module(f"kubernetes.{name}")


def _package() -> ModuleType:
    spec = importlib.util.find_spec("kubernetes")
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError("No module named 'kubernetes'", name="kubernetes")
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def complete(attribute: str) -> Any:
        # Something beyond our modules is wanted: run the package's __init__ now (once; it imports
        # the submodules already loaded from sys.modules and the others anew).
        with _lock:
            if package.__dict__.pop("__getattr__", None) is not None:
                loader.exec_module(package)
        try:
            return package.__dict__[attribute]
        except KeyError:
            raise AttributeError(f"module 'kubernetes' has no attribute {attribute!r}") from None

    setattr(package, "__getattr__", complete)  # noqa: B010 - PEP 562: consulted for missing attributes
    return package
