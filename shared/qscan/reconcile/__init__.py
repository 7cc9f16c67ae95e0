"""The scheduled reconciler (DESIGN §3): list what runs and what was pushed, request scans of what is not covered.

* `qscan.reconcile.inventory`: the per-scope snapshot document (`Inventory`, `inventory_key`);
* `qscan.reconcile.core`: the cloud-neutral decision (fresh / missing / expired -> enqueue once) with limits.

Cloud listers live with their cloud (`qscan.aws.inventory`; the Azure reconciler has its own).
"""
