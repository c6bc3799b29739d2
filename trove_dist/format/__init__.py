"""The framed object format that chunk transforms (compression, encryption) produce.

    header   MAGIC(8) | version u16 | length u32 | JSON {id, chunk size, transform chain}
    frame*   "F" | object tag(8) | index u32 | flags u8 | length u32 | payload
    trailer  "TRVI" | count u32 | count x (offset u64, stored u32, plain u32) | plain size u64
    footer   trailer length u32 | crc32(trailer) u32 | END MAGIC(8)

Every frame but the last holds exactly ``chunk size`` plaintext bytes, so the frame covering a
plaintext offset is found by division; the trailer gives where it is stored.  Frames are
independent: they can be produced in parallel and a range read decodes only those it needs.
Each frame carries its index and the first bytes of the object id in clear, so a reordered
frame or one swapped in from another object is named as such; an encrypting transform also
binds both (and the final flag) into its authentication.  An object is only ever read as framed
when its metadata says so: a plain object that happens to start with these bytes is returned as
written.
"""

from trove_dist.format.header import Header, TransformSpec
from trove_dist.format.reader import FramedReader, read_framed_range
from trove_dist.format.writer import FrameEncoder, framed_stream

__all__ = ["FrameEncoder", "FramedReader", "Header", "TransformSpec", "framed_stream", "read_framed_range"]
