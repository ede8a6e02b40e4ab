"""ELAN annotation files (EAF 3.0): written with every tier and the linked recordings, read per tier.

Writing: each annotation tier becomes a top-level, time-aligned tier; ELAN, like Praat, wants
the annotations of a tier not to overlap (see research/tiers.py). Times are whole milliseconds.
Every recording of the encounter is linked as a MEDIA_DESCRIPTOR, so ELAN opens the audio
with the annotations.

Reading (for `encounter agreement`): the annotations of one tier, with their times; an
annotation on a symbolic child tier (REF_ANNOTATION) takes the times of its parent, which is
how coders often attach codes to a segmented turn tier.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

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
LINGUISTIC_TYPE = "default-lt"


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
    root = ET.Element(
        "ANNOTATION_DOCUMENT",
        {
            "AUTHOR": author,
            "DATE": date,
            "FORMAT": "3.0",
            "VERSION": "3.0",
            "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xsi:noNamespaceSchemaLocation": "http://www.mpi.nl/tools/elan/EAFv3.0.xsd",
        },
    )
    header = ET.SubElement(root, "HEADER", {"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    for item in media:
        attributes = {"MEDIA_URL": item.url, "MIME_TYPE": item.mime}
        if item.relative_url:
            attributes["RELATIVE_MEDIA_URL"] = item.relative_url
        ET.SubElement(header, "MEDIA_DESCRIPTOR", attributes)
    time_order = ET.SubElement(root, "TIME_ORDER")
    annotated = [(tier, interval) for tier in tiers for interval in tier.intervals]
    bounds = sorted(
        (round(t * 1000), n, end)
        for n, (_, interval) in enumerate(annotated)
        for end, t in enumerate((interval.t0, interval.t1))
    )
    slots: dict[tuple[int, int], str] = {}
    for number, (millis, n, end) in enumerate(bounds, start=1):  # slot ids in time order, as ELAN writes them
        slots[n, end] = f"ts{number}"
        ET.SubElement(time_order, "TIME_SLOT", {"TIME_SLOT_ID": f"ts{number}", "TIME_VALUE": str(millis)})
    elements = {
        tier.name: ET.SubElement(root, "TIER", {"LINGUISTIC_TYPE_REF": LINGUISTIC_TYPE, "TIER_ID": tier.name})
        for tier in tiers
    }
    for n, (tier, interval) in enumerate(annotated):
        annotation = ET.SubElement(
            ET.SubElement(elements[tier.name], "ANNOTATION"),
            "ALIGNABLE_ANNOTATION",
            {"ANNOTATION_ID": f"a{n + 1}", "TIME_SLOT_REF1": slots[n, 0], "TIME_SLOT_REF2": slots[n, 1]},
        )
        ET.SubElement(annotation, "ANNOTATION_VALUE").text = interval.label
    ET.SubElement(header, "PROPERTY", {"NAME": "lastUsedAnnotationId"}).text = str(len(annotated))
    ET.SubElement(
        root,
        "LINGUISTIC_TYPE",
        {"GRAPHIC_REFERENCES": "false", "LINGUISTIC_TYPE_ID": LINGUISTIC_TYPE, "TIME_ALIGNABLE": "true"},
    )
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def read_tier(path: Path, tier_id: str | None) -> list[Interval]:
    """The annotations of tier `tier_id` (None: the file's only tier), in time order."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise EafError(f"{path}: cannot read as EAF: {exc}") from exc
    slots = {s.get("TIME_SLOT_ID"): s.get("TIME_VALUE") for s in root.iter("TIME_SLOT")}
    tiers = {t.get("TIER_ID"): t for t in root.iter("TIER")}
    if tier_id is None and len(tiers) != 1:
        raise EafError(f"{path} has {len(tiers)} tiers; name one as {path}#TIER (tiers: {', '.join(tiers)})")
    if tier_id is not None and tier_id not in tiers:
        raise EafError(f"{path} has no tier {tier_id!r} (tiers: {', '.join(tiers)})")
    aligned = {
        a.get("ANNOTATION_ID"): [slots.get(a.get(ref)) for ref in ("TIME_SLOT_REF1", "TIME_SLOT_REF2")]
        for a in root.iter("ALIGNABLE_ANNOTATION")
    }
    parents = {a.get("ANNOTATION_ID"): a.get("ANNOTATION_REF") for a in root.iter("REF_ANNOTATION")}
    intervals = []
    for annotation in tiers[tier_id] if tier_id is not None else next(iter(tiers.values())):
        inner = annotation[0]
        t0, t1 = _times(inner.get("ANNOTATION_ID"), aligned, parents, path)
        intervals.append(Interval(t0, t1, (inner.findtext("ANNOTATION_VALUE") or "").strip()))
    return sorted(intervals, key=lambda i: i.t0)


def _times(annotation_id: str, aligned: dict[str, list], parents: dict[str, str], path: Path) -> tuple[float, float]:
    """Seconds of a time-aligned annotation, or of the aligned ancestor a reference annotation points to."""
    start = annotation_id
    for _ in range(len(parents) + 1):
        if annotation_id in aligned:
            values = aligned[annotation_id]
            if None in values:
                break
            return int(values[0]) / 1000, int(values[1]) / 1000
        annotation_id = parents.get(annotation_id)
    raise EafError(f"{path}: annotation {start} has no time (choose a tier whose annotations are time-aligned)")
