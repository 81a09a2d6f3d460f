"""Generic test helpers: loopback HTTP clients, bounded load loops, tools and processes."""
