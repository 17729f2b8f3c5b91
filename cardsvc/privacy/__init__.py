"""Privacy duties (PIPL): retention purges, erasure, access export, data-key rotation."""
