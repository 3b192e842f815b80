"""Use cases between the commands and the adapters, one module each: change detection,
rendering, the apply engine and rollout waiting, deploying (apply and deploy), gating,
dispatching a workflow, uploading a kubeconfig. Each calls pure decisions in :mod:`gitops.core`
and the outside world through :mod:`gitops.adapters`; none parses flags or prints tables
(commands do that), though long ones say how they are doing (progress lines, annotations)."""
