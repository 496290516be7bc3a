"""labkit: the course toolkit."""
