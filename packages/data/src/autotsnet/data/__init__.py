"""autotsnet.data."""
