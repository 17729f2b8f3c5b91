"""Background jobs: a ``job`` table, a runner per process, checkpoints, leases and heartbeats."""
