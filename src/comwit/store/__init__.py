"""What comwit keeps between runs: ledger stores, the tree cache, saved plans."""
