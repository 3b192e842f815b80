"""Use cases between the commands and the adapters: change detection, rendering, the apply
engine, rollout waiting, deploy. Each calls pure decisions in :mod:`gitops.core` and the outside
world through :mod:`gitops.adapters`; none parses flags or prints tables (commands do that)."""
