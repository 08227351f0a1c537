"""autotsnet.search."""
