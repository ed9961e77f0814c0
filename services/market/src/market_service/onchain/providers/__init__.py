"""On-chain upstream adapters: one module per explorer or feed, each a `Fetcher` per data type."""
