"""Google Cloud Storage driver: ``gcs://?project=…&endpoint=…&credentials=…`` (see ``config``)."""

from trove_dist.drivers.gcs.config import GCSSettings
from trove_dist.drivers.gcs.driver import GCSDriver

__all__ = ["GCSDriver", "GCSSettings"]
