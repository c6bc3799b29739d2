"""Azure Blob Storage driver: ``azure://ACCOUNT[:KEY]@[HOST[:PORT]][?…]`` (see ``config``)."""

from trove_dist.drivers.azure.driver import AzureDriver

__all__ = ["AzureDriver"]
