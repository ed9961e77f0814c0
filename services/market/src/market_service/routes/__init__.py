"""HTTP routes of the market service: thin (parse, call, wrap)."""
