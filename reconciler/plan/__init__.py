"""Planning: desired (resolved spec) × live state → an ordered, explained `Plan`. Pure."""
