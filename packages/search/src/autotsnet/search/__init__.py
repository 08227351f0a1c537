"""autotsnet.search: weight-sharing supernet, PARSEC and the progressive search.

Typical use::

    from autotsnet.search import SearchConfig, run_search, Supernet
"""

from autotsnet.search.config import SearchConfig, SearchError, StepPlan, plan_steps
from autotsnet.search.distribution import ArchDistribution
from autotsnet.search.parsec import Parsec, ParsecConfig
from autotsnet.search.progressive import SearchResult, run_search
from autotsnet.search.supernet import Supernet, SupernetError, recalibrate_bn

__all__ = [
    "ArchDistribution",
    "Parsec",
    "ParsecConfig",
    "SearchConfig",
    "SearchError",
    "SearchResult",
    "StepPlan",
    "Supernet",
    "SupernetError",
    "plan_steps",
    "recalibrate_bn",
    "run_search",
]
