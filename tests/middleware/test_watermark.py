"""Watermarks in metadata and embedded in PNG, JPEG and PDF files, through Trove."""

from __future__ import annotations

import io
import logging
import os
import random
import tracemalloc
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from PIL import Image, JpegImagePlugin, PngImagePlugin
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ContentStream, DictionaryObject, NameObject

from trove_dist import Trove
from trove_dist.drivers.local import LocalDriver
from trove_dist.drivers.memory import MemoryDriver
from trove_dist.errors import ContentBlocked, ObjectNotFound
from trove_dist.middleware import Direction, ForContentTypes, Operation, operation_context
from trove_dist.middleware.compress import Compress
from trove_dist.middleware.encrypt import Encrypt, StaticKeyProvider
from trove_dist.middleware.watermark import CannotEmbed, Format, Watermark, read_watermark
from trove_dist.middleware.watermark.embedding import embed
from trove_dist.middleware.watermark.jpeg import comment_segment
from trove_dist.middleware.watermark.png import text_chunk

MARK = "owned by acme"
LOGGER = "trove_dist.middleware.watermark.middleware"


# ---- sample files, made with the libraries users read them with ------------------------------


def noise_image(mode: str = "RGB", size: tuple[int, int] = (96, 64), seed: int = 7) -> Image.Image:
    rng = random.Random(seed)
    channels = len(mode)
    return Image.frombytes(mode, size, bytes(rng.randrange(256) for _ in range(size[0] * size[1] * channels)))


def make_png(**info: str) -> bytes:
    out = io.BytesIO()
    pnginfo = PngImagePlugin.PngInfo()
    for keyword, text in info.items():
        pnginfo.add_text(keyword, text)
    noise_image("RGBA").save(out, format="PNG", pnginfo=pnginfo)
    return out.getvalue()


def make_jpeg(comment: bytes | None = None) -> bytes:
    image = noise_image()
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make: gives the file an EXIF APP1 segment after JFIF's APP0
    out = io.BytesIO()
    if comment is None:
        image.save(out, format="JPEG", quality=90, exif=exif)
    else:
        image.save(out, format="JPEG", quality=90, exif=exif, comment=comment)
    return out.getvalue()


def make_pdf(*pages: str) -> bytes:
    writer = PdfWriter()
    for text in pages:
        page = writer.add_blank_page(300, 200)
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        content = ContentStream(None, writer)
        content.set_data(f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode())
        page.replace_contents(content)
    writer.add_metadata({"/Title": "Quarterly report"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pixels(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.mode, image.size, image.tobytes()


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


PNG = make_png()
JPEG = make_jpeg()
PDF = make_pdf("Hello page one", "Second page here")


# ---- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "local"])
def trove(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Trove]:
    driver = MemoryDriver() if request.param == "memory" else LocalDriver(tmp_path, durable=False)
    with Trove(driver, default_bucket="bkt", chunk_size=16 * 1024, verify=True) as t:
        t.create_bucket("bkt")
        yield t


def stored(trove: Trove, key: str) -> bytes:
    """The bytes the backend holds, beneath the content pipeline."""
    return trove.driver.get("bkt", key).read()


def read_back(trove: Trove, key: str) -> bytes:
    return trove.get(None, key).read()


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


# ---- metadata watermark ---------------------------------------------------------------------


def test_metadata_watermark_is_text_and_the_content_is_untouched(trove: Trove) -> None:
    trove.use(Watermark(MARK))
    body = b"plain notes\n" * 1000
    info = trove.put(None, "notes.txt", body, metadata={"owner": "ops", "Watermark": "forged"})
    assert dict(info.metadata) == {"owner": "ops", "watermark": MARK}  # the caller's entry is replaced
    assert dict(trove.head(None, "notes.txt").metadata) == {"owner": "ops", "watermark": MARK}
    assert read_back(trove, "notes.txt") == body == stored(trove, "notes.txt")


def test_metadata_watermark_from_a_function_of_bucket_key_and_context(trove: Trove) -> None:
    calls: list[tuple[str, str, dict[str, object]]] = []

    def mark(bucket: str, key: str, context: Mapping[str, object]) -> str:
        calls.append((bucket, key, dict(context)))
        return f"tenant={context.get('tenant')} call={len(calls)}"  # differs per call on purpose

    trove.use(Watermark(mark, metadata_name="X-Owner"))
    with operation_context(tenant="acme"):
        trove.put(None, "docs/a.txt", b"a")
        trove.put(None, "img/b.png", PNG)
    trove.put(None, "docs/c.txt", b"c")
    assert trove.head(None, "docs/a.txt").metadata["x-owner"] == "tenant=acme call=1"
    assert trove.head(None, "docs/c.txt").metadata["x-owner"] == "tenant=None call=3"
    # called once per write: the metadata and the embedded watermark agree
    assert trove.head(None, "img/b.png").metadata["x-owner"] == "tenant=acme call=2"
    assert read_watermark(read_back(trove, "img/b.png"), "image/png") == "tenant=acme call=2"
    assert calls == [
        ("bkt", "docs/a.txt", {"tenant": "acme"}),
        ("bkt", "img/b.png", {"tenant": "acme"}),
        ("bkt", "docs/c.txt", {}),
    ]


def test_a_function_returning_a_bad_watermark_refuses_the_write(trove: Trove) -> None:
    trove.use(Watermark(lambda bucket, key, context: 42))  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="must be a str"):
        trove.put(None, "a.txt", b"a")
    trove.remove(trove.content.resolver.registrations[0])
    trove.use(Watermark(lambda bucket, key, context: "two\nlines"))
    with pytest.raises(ValueError, match="one line"):
        trove.put(None, "a.txt", b"a")
    assert not trove.exists(None, "a.txt")


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"metadata_name": "trove-mark"}, "reserved"),
        ({"metadata_name": "TROVE-Mark"}, "reserved"),
        ({"metadata_name": "bad name"}, "invalid metadata name"),
        ({"metadata_name": "a:b"}, "invalid metadata name"),
        ({"metadata_name": None, "embed": False}, "would do nothing"),
        ({"keyword": "no spaces allowed"}, "keyword"),
        ({"max_embed_bytes": 0}, "max_embed_bytes"),
        ({"oversize": "truncate"}, "oversize"),
        ({"malformed": "ignore"}, "malformed"),
    ],
)
def test_configuration_is_validated(options: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        Watermark(MARK, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "a\nb", "a\rb", "nul\x00", "x" * 5000])
def test_bad_watermark_text_is_refused_up_front(text: str) -> None:
    with pytest.raises(ValueError, match="watermark"):
        Watermark(text)


# ---- embedded watermarks ----------------------------------------------------------------------


@pytest.mark.parametrize("text", [MARK, "© acme — 東京"])  # Latin-1 → tEXt, anything else → iTXt
def test_png_gets_a_text_chunk_and_keeps_its_pixels(trove: Trove, text: str) -> None:
    trove.use(Watermark(text))
    trove.put(None, "photo.png", PNG)
    got = read_back(trove, "photo.png")
    assert read_watermark(got, "image/png") == text
    assert pixels(got) == pixels(PNG)
    with Image.open(io.BytesIO(got)) as image:
        image.verify()  # every chunk's CRC
    chunk = text_chunk("Watermark", text)
    assert chunk[4:8] == (b"tEXt" if text == MARK else b"iTXt")
    assert got.replace(chunk, b"", 1) == PNG  # nothing else changed: no re-encoding
    assert trove.head(None, "photo.png").metadata["watermark"] == text


def test_png_watermark_replaces_an_older_one_and_keeps_other_text(trove: Trove) -> None:
    original = make_png(Watermark="old owner", Author="Ada")
    assert read_watermark(original, "image/png") == "old owner"
    trove.use(Watermark(MARK))
    trove.put(None, "photo.png", original)
    got = read_back(trove, "photo.png")
    with Image.open(io.BytesIO(got)) as image:
        assert isinstance(image, PngImagePlugin.PngImageFile)
        assert image.text == {"Watermark": MARK, "Author": "Ada"}
    assert pixels(got) == pixels(original)


def test_jpeg_gets_a_comment_after_its_app_segments_and_keeps_its_pixels(trove: Trove) -> None:
    original = make_jpeg(comment=b"shot on a phone")
    trove.use(Watermark(MARK))
    trove.put(None, "photo.jpg", original)
    got = read_back(trove, "photo.jpg")
    assert read_watermark(got, "image/jpeg") == MARK
    assert pixels(got) == pixels(original)  # the entropy-coded data was copied, not recompressed
    segment = comment_segment("Watermark", MARK)
    at = got.index(segment)
    assert got[:at] + got[at + len(segment) :] == original
    with Image.open(io.BytesIO(got)) as image:
        assert isinstance(image, JpegImagePlugin.JpegImageFile)
        markers = [marker for marker, _ in image.applist]
        assert markers[:3] == ["APP0", "APP1", "COM"]  # JFIF and EXIF stay first
        assert ("COM", b"shot on a phone") in image.applist  # the camera's comment is kept
        assert image.getexif()[0x010F] == "TestCam"


def test_jpeg_rewatermark_replaces_the_old_comment() -> None:
    once = embed(Format.JPEG, JPEG, "Watermark", "first")
    twice = embed(Format.JPEG, once, "Watermark", "second")
    assert read_watermark(twice) == "second"
    assert twice.count(b"Watermark: ") == 1
    assert len(twice) == len(once) + 1


def test_pdf_gets_document_info_and_keeps_pages_and_text(trove: Trove) -> None:
    trove.use(Watermark(MARK))
    trove.put(None, "report.pdf", PDF)
    got = read_back(trove, "report.pdf")
    assert read_watermark(got, "application/pdf") == MARK
    assert got.startswith(PDF)  # an incremental update: the original bytes are all still there
    reader = PdfReader(io.BytesIO(got))
    assert len(reader.pages) == 2
    assert pdf_pages(got) == pdf_pages(PDF) == ["Hello page one", "Second page here"]
    assert reader.metadata is not None
    assert reader.metadata.title == "Quarterly report"
    assert str(reader.metadata["/Watermark"]) == MARK


def test_custom_keyword_and_no_metadata(trove: Trove) -> None:
    trove.use(Watermark(MARK, keyword="Owner", metadata_name=None))
    trove.put(None, "photo.png", PNG)
    trove.put(None, "report.pdf", PDF)
    assert "watermark" not in trove.head(None, "photo.png").metadata
    assert read_watermark(read_back(trove, "photo.png"), "image/png", keyword="Owner") == MARK
    assert read_watermark(read_back(trove, "photo.png"), "image/png") is None
    reader = PdfReader(io.BytesIO(read_back(trove, "report.pdf")))
    assert reader.metadata is not None
    assert str(reader.metadata["/Owner"]) == MARK


def test_embed_false_sets_metadata_only(trove: Trove) -> None:
    trove.use(Watermark(MARK, embed=False))
    trove.put(None, "photo.png", PNG)
    assert read_back(trove, "photo.png") == PNG
    assert trove.head(None, "photo.png").metadata["watermark"] == MARK


def test_the_content_decides_not_the_extension(trove: Trove, caplog: pytest.LogCaptureFixture) -> None:
    trove.use(Watermark(MARK))
    # a PNG under a key without an extension: the generic type lets the signature decide
    trove.put(None, "uploads/blob", PNG)
    assert read_watermark(read_back(trove, "uploads/blob")) == MARK
    # a PNG labelled as text is text to us: untouched
    trove.put(None, "photo.png", PNG, content_type="text/plain")
    assert read_back(trove, "photo.png") == PNG
    # text under a .png key (its type guessed as image/png): mislabelled, stored unchanged, logged
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        trove.put(None, "fake.png", b"<html>not found</html>")
    assert read_back(trove, "fake.png") == b"<html>not found</html>"
    assert trove.head(None, "fake.png").metadata["watermark"] == MARK
    assert "labelled image/png" in caplog.text
    # a JPEG labelled PNG is a mismatch too: nothing embedded on a guess
    trove.put(None, "other.png", JPEG)
    assert read_back(trove, "other.png") == JPEG


def test_read_watermark_only_reports_what_it_can_read() -> None:
    marked = embed(Format.PNG, PNG, "Watermark", MARK)
    assert read_watermark(marked) == MARK
    assert read_watermark(marked, "application/octet-stream") == MARK
    assert read_watermark(marked, "text/plain") is None
    assert read_watermark(marked, "image/jpeg") is None
    assert read_watermark(PNG, "image/png") is None
    assert read_watermark(JPEG, "image/jpeg") is None
    assert read_watermark(PDF, "application/pdf") is None
    assert read_watermark(PNG[:40], "image/png") is None
    assert read_watermark(b"", None) is None


# ---- streaming --------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", "video/mp4"])
def test_other_content_streams_through_without_buffering(content_type: str) -> None:
    produced: list[int] = []

    def source() -> Iterator[bytes]:
        for index in range(100):
            produced.append(index)
            yield bytes([index % 256]) * 1000

    watermark = Watermark(MARK)
    op = Operation(Direction.WRITE, "bkt", "big", content_type)
    metadata: dict[str, str] = {}
    watermark.prepare_write(op, metadata)
    out = watermark.wrap_write(op, source())
    first = next(out)
    assert len(produced) == 1  # the first chunk is out before the second is read
    assert first == b"\0" * 1000
    rest = list(out)
    assert len(produced) == 100
    assert b"".join([first, *rest]) == b"".join(bytes([i]) * 1000 for i in range(100))
    assert metadata == {"watermark": MARK}


def test_a_large_other_body_is_not_held_in_memory(tmp_path: Path) -> None:
    chunk = os.urandom(1 << 20)
    count = 48

    with Trove(LocalDriver(tmp_path, durable=False), default_bucket="bkt", chunk_size=1 << 20) as trove:
        trove.create_bucket("bkt")
        trove.use(Watermark(MARK))
        tracemalloc.start()
        try:
            trove.put(None, "big.bin", (chunk for _ in range(count)))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 12 << 20, f"peak {peak >> 20} MiB for a {count} MiB body"
        assert trove.head(None, "big.bin").metadata["watermark"] == MARK
        with trove.get(None, "big.bin") as reader:
            assert all(reader.read(1 << 20) == chunk for _ in range(count))
            assert reader.read() == b""


# ---- size and malformed-input policies --------------------------------------------------------


def test_oversize_skip_stores_the_file_unchanged_with_metadata_and_a_warning(
    trove: Trove, caplog: pytest.LogCaptureFixture
) -> None:
    trove.use(Watermark(MARK, max_embed_bytes=1000))
    assert len(PNG) > 1000
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        trove.put(None, "photo.png", pieces(PNG, 300))  # no chunk is lost at the limit
        trove.put(None, "whole.png", PNG)  # one chunk already beyond the limit
    assert read_back(trove, "photo.png") == PNG == read_back(trove, "whole.png")
    assert trove.head(None, "photo.png").metadata["watermark"] == MARK
    assert "larger than max_embed_bytes (1000)" in caplog.text
    assert "oversize='skip'" in caplog.text


def test_oversize_refuse_blocks_the_write(trove: Trove) -> None:
    trove.use(Watermark(MARK, max_embed_bytes=1000, oversize="refuse"))
    with pytest.raises(ContentBlocked, match=r"bkt/photo.png is a PNG larger than max_embed_bytes \(1000\)"):
        trove.put(None, "photo.png", pieces(PNG, 300))
    with pytest.raises(ObjectNotFound):
        trove.head(None, "photo.png")
    trove.put(None, "small.txt", b"x" * 5000)  # the limit is about embedding only
    assert read_back(trove, "small.txt") == b"x" * 5000


def test_a_file_at_the_limit_is_embedded(trove: Trove) -> None:
    trove.use(Watermark(MARK, max_embed_bytes=len(PNG), oversize="refuse"))
    trove.put(None, "photo.png", pieces(PNG, 100))
    assert read_watermark(read_back(trove, "photo.png"), "image/png") == MARK


def _bad_crc(data: bytes) -> bytes:
    corrupt = bytearray(data)
    corrupt[40] ^= 0xFF  # inside IDAT (IHDR is 33 bytes after the signature)
    return bytes(corrupt)


MALFORMED = [
    pytest.param("a.png", PNG[: len(PNG) // 2], id="truncated-png"),
    pytest.param("a.png", PNG[:8] + os.urandom(200), id="png-signature-then-garbage"),
    pytest.param("a.png", PNG[:8], id="png-signature-only"),
    pytest.param("a.png", _bad_crc(PNG), id="png-bad-crc"),
    pytest.param("a.png", b"", id="empty-png"),
    pytest.param("a.jpg", JPEG[:300], id="truncated-jpeg-header"),
    pytest.param("a.jpg", JPEG[: len(JPEG) - 200], id="truncated-jpeg-scan"),
    pytest.param("a.jpg", b"\xff\xd8\xff" + b"\x00" * 50, id="jpeg-garbage"),
    pytest.param("a.pdf", b"%PDF-1.7\n" + os.urandom(300), id="pdf-garbage"),
    pytest.param("a.pdf", PDF[: len(PDF) // 2], id="truncated-pdf"),
]


@pytest.mark.parametrize(("key", "data"), MALFORMED)
def test_malformed_input_is_stored_unchanged_with_a_warning(
    trove: Trove, caplog: pytest.LogCaptureFixture, key: str, data: bytes
) -> None:
    trove.use(Watermark(MARK))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        trove.put(None, key, data)
    assert read_back(trove, key) == data
    assert trove.head(None, key).metadata["watermark"] == MARK
    assert f"bkt/{key} stored unchanged, without an embedded watermark" in caplog.text


@pytest.mark.parametrize(("key", "data"), MALFORMED)
def test_malformed_input_is_refused_when_asked(trove: Trove, key: str, data: bytes) -> None:
    trove.use(Watermark(MARK, malformed="refuse"))
    with pytest.raises(ContentBlocked, match=f"bkt/{key}: no watermark can be embedded"):
        trove.put(None, key, data)
    assert not trove.exists(None, key)


def test_an_encrypted_pdf_cannot_carry_a_watermark() -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(PDF)))
    writer.encrypt("secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(CannotEmbed, match="encrypted"):
        embed(Format.PDF, out.getvalue(), "Watermark", MARK)


@pytest.mark.parametrize(("fmt", "sample"), [(Format.PNG, PNG), (Format.JPEG, JPEG), (Format.PDF, PDF)])
def test_every_truncation_or_flipped_byte_embeds_cleanly_or_is_cannot_embed(fmt: Format, sample: bytes) -> None:
    """Never an IndexError, struct.error or a file that does not read back."""
    rng = random.Random(1)
    step = max(1, len(sample) // (40 if fmt is Format.PDF else 200))
    variants = [sample[:cut] for cut in range(0, len(sample), step)]
    for _ in range(40 if fmt is Format.PDF else 200):
        corrupt = bytearray(sample)
        corrupt[rng.randrange(len(corrupt))] ^= 1 << rng.randrange(8)
        variants.append(bytes(corrupt))
    for data in variants:
        try:
            out = embed(fmt, data, "Watermark", MARK)
        except CannotEmbed:
            continue
        assert read_watermark(out) == MARK


# ---- composition and scope --------------------------------------------------------------------


def test_watermark_composes_with_compression_and_encryption(trove: Trove) -> None:
    trove.use(Watermark(MARK), priority=0)
    trove.use(Compress(skip_extensions=(), skip_content_types=(), skip_families=()), priority=10)
    trove.use(Encrypt(StaticKeyProvider(os.urandom(32), "k1")), priority=20)
    for key, data in [("photo.png", PNG), ("photo.jpg", JPEG), ("report.pdf", PDF), ("notes.txt", b"n" * 50_000)]:
        trove.put(None, key, data)
        raw = stored(trove, key)
        assert data[:16] not in raw  # framed: compressed and encrypted
        got = read_back(trove, key)
        assert trove.head(None, key).size == len(got)
        assert trove.head(None, key).metadata["watermark"] == MARK
        if key == "notes.txt":
            assert got == data
        else:
            assert read_watermark(got, trove.head(None, key).content_type) == MARK
    assert pixels(read_back(trove, "photo.png")) == pixels(PNG)
    assert pixels(read_back(trove, "photo.jpg")) == pixels(JPEG)
    assert pdf_pages(read_back(trove, "report.pdf")) == pdf_pages(PDF)


def test_scoped_to_images(trove: Trove) -> None:
    trove.use(Watermark(MARK), scope=ForContentTypes("image/*"))
    trove.put(None, "photo.png", PNG)
    trove.put(None, "photo.jpg", JPEG)
    trove.put(None, "report.pdf", PDF)
    trove.put(None, "notes.txt", b"notes")
    for key in ("photo.png", "photo.jpg"):
        assert trove.head(None, key).metadata["watermark"] == MARK
        assert read_watermark(read_back(trove, key), trove.head(None, key).content_type) == MARK
    for key, data in (("report.pdf", PDF), ("notes.txt", b"notes")):
        assert "watermark" not in trove.head(None, key).metadata
        assert read_back(trove, key) == data
