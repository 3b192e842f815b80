"""Thin adapters over the outside world: git, kubectl, the Kubernetes API, GitHub, the runner."""
