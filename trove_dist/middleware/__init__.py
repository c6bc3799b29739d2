"""The scoped middleware pipeline: what transforms an object's content, when, and in what order."""

from trove_dist.format.codec import ChunkCodec
from trove_dist.middleware.base import ChunkMiddleware, Middleware, ObjectMiddleware, Params
from trove_dist.middleware.context import Direction, Operation, current_context, operation_context
from trove_dist.middleware.registration import Registration
from trove_dist.middleware.resolver import Pipeline, Resolver
from trove_dist.middleware.scope import And, ForBuckets, ForContentTypes, ForKeys, Global, Not, Or, Scope, When

__all__ = [
    "And",
    "ChunkCodec",
    "ChunkMiddleware",
    "Direction",
    "ForBuckets",
    "ForContentTypes",
    "ForKeys",
    "Global",
    "Middleware",
    "Not",
    "ObjectMiddleware",
    "Operation",
    "Or",
    "Params",
    "Pipeline",
    "Registration",
    "Resolver",
    "Scope",
    "When",
    "current_context",
    "operation_context",
]
