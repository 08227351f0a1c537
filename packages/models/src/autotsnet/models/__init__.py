"""autotsnet.models: genome, blocks, builder, zoo and cost accounting.

Typical use::

    from autotsnet.models import Genome, build_model, zoo
    genome = zoo.get("auto_tsnet_s")
    net = build_model(genome, num_classes=400)
"""

from autotsnet.models import zoo
from autotsnet.models.builder import SingleStreamNet, TwoStreamNet, VideoNet, build_model
from autotsnet.models.genome import Genome, GenomeError, load_genome
from autotsnet.models.shrink import shrink

__all__ = [
    "Genome",
    "GenomeError",
    "SingleStreamNet",
    "TwoStreamNet",
    "VideoNet",
    "build_model",
    "load_genome",
    "shrink",
    "zoo",
]
