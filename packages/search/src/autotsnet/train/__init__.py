"""autotsnet.train: training, checkpoints and evaluation."""
