"""ELAN annotation files (EAF 3.0), written and read with pympi-ling.

Writing: each annotation tier becomes a top-level, time-aligned tier; ELAN, like Praat, wants
the annotations of a tier not to overlap (see research/tiers.py). Times are whole milliseconds.
Every recording of the encounter is linked as a MEDIA_DESCRIPTOR, so ELAN opens the audio
with the annotations.

Reading (for `encounter agreement`): the annotations of one tier, with their times; an
annotation on a symbolic child tier (REF_ANNOTATION) takes the times of its parent, which is
how coders often attach codes to a segmented turn tier. pympi reads files as ELAN writes them
(with the xsi:noNamespaceSchemaLocation attribute, for one); anything it cannot read is an
EafError that asks for the file to be saved from ELAN. pympi follows references up to a
top-level tier only: a symbolic tier under a time-aligned child tier (Included_In, Time
Subdivision) is refused with a message saying so.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from pympi.Elan import Eaf, to_adocument

from encounter_feedback.errors import UserError
from encounter_feedback.research.tiers import Interval, Tier

MIME_TYPES = {
    ".wav": "audio/x-wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".webm": "audio/webm",
    ".flac": "audio/flac",
    ".mp4": "video/mp4",
}
EAF_SCHEMA = "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"


class EafError(UserError):
    """An EAF file or tier that cannot be read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Media:
    """A linked recording: `url` absolute (file:///...) or relative to the .eaf file."""

    url: str
    mime: str
    relative_url: str | None = None


def mime_type(path: str) -> str:
    return MIME_TYPES.get(Path(path).suffix.lower(), "audio/*")


def eaf(tiers: list[Tier], media: list[Media], author: str, date: str) -> bytes:
    """The EAF XML of `tiers`; `date` is an xsd:dateTime, e.g. 2026-03-01T12:00:00+00:00."""
    document = Eaf(author=author)
    document.remove_tier("default")  # pympi starts every new document with one
    document.adocument.update(
        {"DATE": date, "FORMAT": "3.0", "VERSION": "3.0", "xsi:noNamespaceSchemaLocation": EAF_SCHEMA}
    )
    document.header.update({"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    for item in media:
        document.add_linked_file(item.url, item.relative_url, item.mime)
    for tier in tiers:
        document.add_tier(tier.name)
        for interval in tier.intervals:
            start = round(interval.t0 * 1000)  # pympi refuses an annotation that rounds to no length
            document.add_annotation(tier.name, start, max(round(interval.t1 * 1000), start + 1), interval.label)
    document.properties = [("lastUsedAnnotationId", document.maxaid)]
    root = to_adocument(document, pretty=False)
    ET.indent(root)  # pympi's own indenting misplaces closing tags
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def read_tier(path: Path, tier_id: str | None) -> list[Interval]:
    """The annotations of tier `tier_id` (None: the file's only tier), in time order."""
    try:
        document = Eaf(str(path), suppress_version_warning=True)
    except Exception as exc:  # pympi raises a bare Exception for malformed XML, KeyError for a missing attribute
        raise EafError(f"{path}: cannot read as EAF ({type(exc).__name__}: {exc}); save it from ELAN") from exc
    tiers = document.get_tier_names()
    if tier_id is None and len(tiers) != 1:
        raise EafError(f"{path} has {len(tiers)} tiers; name one as {path}#TIER (tiers: {', '.join(tiers)})")
    if tier_id is not None and tier_id not in tiers:
        raise EafError(f"{path} has no tier {tier_id!r} (tiers: {', '.join(tiers)})")
    name = tier_id if tier_id is not None else next(iter(tiers))
    try:
        annotations = document.get_annotation_data_for_tier(name)  # a symbolic tier's with their parent's times
    except KeyError as exc:
        raise EafError(
            f"{path}: tier {name!r}: its references do not lead to a top-level time-aligned tier "
            "(put the codes on a symbolic child of a top-level tier, or on a time-aligned tier)"
        ) from exc
    intervals = []
    for start, end, value, *_ in annotations:
        if start is None or end is None:
            raise EafError(
                f"{path}: tier {name!r}: annotation {value!r} has no time "
                "(choose a tier whose annotations are time-aligned)"
            )
        intervals.append(Interval(start / 1000, end / 1000, value.strip()))
    return sorted(intervals, key=lambda interval: interval.t0)
