"""The S3 driver (``s3://``): Amazon S3 and S3-compatible stores, through boto3.

``s3://[ACCESS_KEY:SECRET@][HOST[:PORT]][?region=…&tls=false&addressing=path&retries=5&…]`` —
see ``settings`` for every parameter, ``driver`` for the capabilities, and ``upload`` for how
bodies are streamed and where their checksum is stored.
"""

from trove_dist.drivers.s3.driver import S3Driver

__all__ = ["S3Driver"]
