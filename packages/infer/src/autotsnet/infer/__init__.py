"""autotsnet.infer."""
