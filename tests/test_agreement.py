"""Agreement statistics against hand-computed worked examples, and every kind of input."""

from __future__ import annotations

import pytest

from encounter_feedback.cli.main import main
from encounter_feedback.errors import UserError
from encounter_feedback.research.agreement import AgreementError, TimedCodes, cohen, compare, frame_labels, load_codes
from encounter_feedback.research.eaf import EafError
from encounter_feedback.research.export import FORMATS, Selection, build, write_directory
from encounter_feedback.research.tiers import Interval
from encounter_feedback.store.database import Store
from stored_encounters import make_encounter

CODER_CSV = "t0,t1,label\n7.0,12.0,discrimination_disclosure\n12.0,16.0,Empathy\n"


def test_kappa_percent_and_confusion_match_a_worked_example():
    a = ["none"] * 5 + ["validation"] * 3 + ["empathy"] * 2
    b = ["none"] * 4 + ["validation"] * 3 + ["empathy"] * 2 + ["none"]
    #   frame:   0-3   4     5-6   7     8     9
    #   A:       none  none  val   val   emp   emp
    #   B:       none  val   val   emp   emp   none
    result = cohen(a, b)
    assert result.labels == ("none", "empathy", "validation")  # none first, then alphabetical
    assert result.matrix == (
        (4, 0, 1),  # A none:       B none 4, validation 1
        (1, 1, 0),  # A empathy:    B none 1, empathy 1
        (0, 1, 2),
    )  # A validation: B empathy 1, validation 2
    # po = (4 + 1 + 2) / 10 = 0.7; both sides: none 5, empathy 2, validation 3 frames
    # pe = (5*5 + 2*2 + 3*3) / 10^2 = 38/100; kappa = (0.7 - 0.38) / (1 - 0.38) = 0.32 / 0.62
    assert result.frames == 10 and result.percent == pytest.approx(0.7)
    assert result.kappa == pytest.approx(0.32 / 0.62)


def test_kappa_is_undefined_when_both_sides_use_one_label():
    result = cohen(["none"] * 4, ["none"] * 4)
    assert result.percent == 1.0 and result.kappa is None


def test_frames_take_the_code_at_their_midpoint():
    codes = (Interval(0.4, 2.6, "validation"), Interval(2.0, 3.0, "minimizing"), Interval(3.0, 4.0, "mistrust"))
    coding = TimedCodes("c", codes, 5)
    # midpoints 0.5 1.5 2.5 3.5 4.5: validation, validation, minimizing (the later start wins), none (a moment), none
    assert frame_labels(coding, "response", 5) == ["validation", "validation", "minimizing", "none", "none"]
    assert frame_labels(coding, "group", 5) == ["responsive", "responsive", "microaggression", "none", "none"]
    assert frame_labels(coding, "moment", 5) == ["none", "none", "none", "mistrust", "none"]
    assert frame_labels(coding, "moment", 10, unit=0.5)[6:8] == ["mistrust", "mistrust"]


def test_system_against_a_coder_on_one_second_frames(tmp_path):
    store = Store(tmp_path / "data")
    enc = make_encounter(store, tmp_path)  # moment 6.5-12.0 disclosure, response 12.4-15.0 validation, ends 18.2 s
    coder = tmp_path / "coder.csv"
    coder.write_text(CODER_CSV)
    system, human = load_codes(enc, store), load_codes(str(coder), store)
    assert system.codes == (Interval(6.5, 12.0, "discrimination_disclosure"), Interval(12.4, 15.0, "validation"))
    assert human.codes[1].label == "empathy" and system.duration == 18.2

    # 19 frames (ceil 18.2), midpoints 0.5 ... 18.5.
    # moment: system frames 6-11 (midpoints 6.5-11.5), coder 7-11: they differ at frame 6 only.
    moment = compare(system, human, "moment")
    assert moment.frames == 19 and moment.matrix == ((13, 0), (1, 5))
    # po = 18/19; system none 13, disclosure 6; coder none 14, disclosure 5
    # pe = (13*14 + 6*5) / 19^2 = 212/361; kappa = (342/361 - 212/361) / (1 - 212/361) = 130/149
    assert moment.percent == pytest.approx(18 / 19) and moment.kappa == pytest.approx(130 / 149)

    # response: system validation at frames 12-14, coder empathy at 12-15
    response = compare(system, human, "response")
    assert response.labels == ("none", "empathy", "validation")
    assert response.matrix == ((15, 1, 0), (0, 0, 0), (0, 3, 0))
    # po = 15/19; pe = (16*15 + 0*4 + 3*0) / 361 = 240/361; kappa = (285 - 240) / (361 - 240) = 45/121
    assert response.percent == pytest.approx(15 / 19) and response.kappa == pytest.approx(45 / 121)

    # group: both responsive, system 3 frames, coder 4: po = 18/19
    # pe = (16*15 + 3*4) / 361 = 252/361; kappa = (342 - 252) / (361 - 252) = 90/109
    group = compare(system, human, "group")
    assert group.matrix == ((15, 1), (0, 3)) and group.kappa == pytest.approx(90 / 109)


def test_exported_files_and_elan_tiers_are_codings_too(tmp_path):
    store = Store(tmp_path / "data")
    enc = make_encounter(store, tmp_path)
    other = make_encounter(store, tmp_path, participant="P2")
    out = tmp_path / "out"
    write_directory(build(store, Selection(encounters=(enc, other)), FORMATS, False).files, out)
    system = load_codes(enc, store)
    for spec in (f"{out}/events.jsonl#{enc}", f"{out}/events.csv#{enc}"):
        assert load_codes(spec, store).codes == system.codes
    assert load_codes(f"{out}/{enc}/annotations.eaf#moments", store).codes == system.codes[:1]
    with pytest.raises(AgreementError, match=r"holds 2 encounters; choose one as .*events.jsonl#ENCOUNTER"):
        load_codes(f"{out}/events.jsonl", store)
    with pytest.raises(EafError, match=r"has 7 tiers; name one as .*#TIER \(tiers: patient, provider, moments"):
        load_codes(f"{out}/{enc}/annotations.eaf", store)

    # a coder's ELAN file: codes on a symbolic child of a turn tier take the turn's times
    coder = tmp_path / "coder.eaf"
    coder.write_text("""<?xml version="1.0" encoding="UTF-8"?>
<ANNOTATION_DOCUMENT AUTHOR="" DATE="2026-01-01T00:00:00+00:00" FORMAT="3.0" VERSION="3.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xsi:noNamespaceSchemaLocation="http://www.mpi.nl/tools/elan/EAFv3.0.xsd">
  <HEADER MEDIA_FILE="" TIME_UNITS="milliseconds"/>
  <TIME_ORDER>
    <TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="7000"/><TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="12000"/>
    <TIME_SLOT TIME_SLOT_ID="ts3" TIME_VALUE="12000"/><TIME_SLOT TIME_SLOT_ID="ts4" TIME_VALUE="16000"/>
  </TIME_ORDER>
  <TIER LINGUISTIC_TYPE_REF="turn" TIER_ID="turns">
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts2">
      <ANNOTATION_VALUE>patient turn</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a2" TIME_SLOT_REF1="ts3" TIME_SLOT_REF2="ts4">
      <ANNOTATION_VALUE>provider turn</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
  </TIER>
  <TIER LINGUISTIC_TYPE_REF="code" PARENT_REF="turns" TIER_ID="coder2">
    <ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a3" ANNOTATION_REF="a1">
      <ANNOTATION_VALUE>discrimination_disclosure</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>
    <ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a4" ANNOTATION_REF="a2">
      <ANNOTATION_VALUE>empathy</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>
  </TIER>
  <LINGUISTIC_TYPE LINGUISTIC_TYPE_ID="turn" TIME_ALIGNABLE="true"/>
  <LINGUISTIC_TYPE LINGUISTIC_TYPE_ID="code" TIME_ALIGNABLE="false" CONSTRAINTS="Symbolic_Association"/>
</ANNOTATION_DOCUMENT>
""")
    csv_coder = tmp_path / "coder1.csv"
    csv_coder.write_text(CODER_CSV)
    elan = load_codes(f"{coder}#coder2", store)
    assert elan.codes == (Interval(7.0, 12.0, "discrimination_disclosure"), Interval(12.0, 16.0, "empathy"))
    same = compare(load_codes(str(csv_coder), store), elan, "response")  # two coders who agree
    assert same.percent == 1.0 and same.kappa == 1.0
    with pytest.raises(
        AgreementError, match=r"coder.eaf: annotation at 7.000 s: 'patient turn' is not a taxonomy label"
    ):
        load_codes(f"{coder}#turns", store)
    with pytest.raises(EafError, match="has no tier 'coder9'"):
        load_codes(f"{coder}#coder9", store)
    coder.write_text(coder.read_text().replace("</TIER>", "</TIR>", 1))
    with pytest.raises(EafError, match=r"coder.eaf: cannot read as EAF .*; save it from ELAN"):
        load_codes(f"{coder}#coder2", store)


def test_bad_coder_files_name_the_file_and_line(tmp_path):
    store = Store(tmp_path / "data")
    bad = tmp_path / "codes.csv"
    cases = {
        "start,end,code\n1,2,empathy\n": (
            r"codes.csv: line 1: needs the columns t0, t1, label \(missing label, t0, t1\)"
        ),
        "t0,t1,label\n1,2,empathy\n3,x,empathy\n": r"codes.csv: line 3: t0 and t1 must be seconds, got '3', 'x'",
        "t0,t1,label\n5,2,empathy\n": r"codes.csv: line 2: t0 5.0 to t1 2.0 is not a time span",
        "t0,t1,label\n1,2,empathy\n2,3,validaton\n": r"codes.csv: line 3: 'validaton' is not a taxonomy label",
    }
    for text, message in cases.items():
        bad.write_text(text)
        with pytest.raises(AgreementError, match=message):
            load_codes(str(bad), store)
    with pytest.raises(AgreementError, match="enc-nope: no such file, and no encounter 'enc-nope'"):
        load_codes("enc-nope", store)


def test_a_coders_csv_saved_from_excel_reads_and_a_legacy_encoding_says_how_to_save_it(tmp_path):
    """Excel's "CSV UTF-8" starts with a byte-order mark, its plain "CSV" is Windows-1252."""
    store = Store(tmp_path / "data")
    coder = tmp_path / "coder.csv"
    coder.write_bytes(b"\xef\xbb\xbf" + CODER_CSV.encode())
    assert load_codes(str(coder), store).codes == (
        Interval(7.0, 12.0, "discrimination_disclosure"),
        Interval(12.0, 16.0, "empathy"),
    )
    coder.write_bytes((CODER_CSV + "16.0,18.0,Empathy \u2013 partial\n").encode("cp1252"))
    with pytest.raises(UserError, match=r"coder.csv: line 4: not UTF-8 text \(byte 0x96\); save the file as UTF-8"):
        load_codes(str(coder), store)


def test_agreement_command_prints_the_figures(tmp_path, capsys):
    store = Store(tmp_path / "data")
    enc = make_encounter(store, tmp_path)
    coder = tmp_path / "coder.csv"
    coder.write_text(CODER_CSV)
    assert main(["agreement", enc, str(coder), "--scheme", "moment", "--data", str(store.data_dir)]) == 0
    printed = capsys.readouterr().out
    assert f"moment codes, 1 s frames: A = {enc} (system), B = {coder}" in printed
    assert "frames 19, percent agreement 94.7%, Cohen's kappa 0.872" in printed  # 18/19, 130/149
    assert main(["agreement", enc, str(coder), "--data", str(store.data_dir)]) == 0
    assert capsys.readouterr().out.count("Cohen's kappa") == 3  # moment, response, group
    coder.write_text("t0,t1,label\n1,2,nonsense\n")
    assert main(["agreement", enc, str(coder), "--data", str(store.data_dir)]) == 2
    assert "coder.csv: line 2: 'nonsense' is not a taxonomy label" in capsys.readouterr().err


def test_responsiveness_agreement_matches_hand_computed_figures():
    from encounter_feedback.research.agreement import score_agreement

    pairs = [(3, 3), (2, 3), (-1, -1), (0, 1), (-3, -2)]
    result = score_agreement(pairs, only_a=1)
    assert result.exact == pytest.approx(0.4) and result.within_one == pytest.approx(1.0) and result.only_a == 1
    # Spearman: ranks A (5, 4, 2, 3, 1), B (4.5, 4.5, 2, 3, 1)
    assert result.spearman == pytest.approx(0.9746794344808963)
    # ICC(2,1), two-way ANOVA (grand mean 0.5): MSR 43 / 4 = 10.75, MSC 0.9 / 1, MSE 0.6 / 4 = 0.15
    assert result.icc == pytest.approx((10.75 - 0.15) / (10.75 + 0.15 + 2 * (0.9 - 0.15) / 5))
    assert 0.9 < result.weighted_kappa < 1.0
    assert score_agreement([]).weighted_kappa is None and score_agreement([(1, 1), (1, 1)]).weighted_kappa is None


def test_agreement_compares_the_systems_scores_with_a_coders_csv(tmp_path, capsys):
    import json

    from encounter_feedback.research.agreement import load_scores, pair_scores

    events = tmp_path / "events.jsonl"
    moment = {"type": "moment", "encounter": "e1", "label": "mistrust", "confidence": 0.9, "segment": "s"}
    events.write_text(
        "\n".join(
            json.dumps(e)
            for e in (
                {**moment, "id": "moment-1", "t0": 5.0, "t1": 9.0, "responsiveness": None},
                {**moment, "id": "moment-1", "t0": 5.0, "t1": 9.0, "responsiveness": 3},  # the latest version counts
                {**moment, "id": "moment-2", "t0": 30.0, "t1": 33.0, "responsiveness": -1},
                {**moment, "id": "moment-3", "t0": 60.0, "t1": 62.0, "responsiveness": None},  # nobody answered
            )
        )
    )
    by_time = tmp_path / "coder.csv"
    by_time.write_text("t0,t1,score\n4.0,10.0,2\n29.5,34.0,-1\n90.0,95.0,0\n")
    by_id = tmp_path / "coder_ids.csv"
    by_id.write_text("moment,score\nmoment-2,-2\nmoment-1,3\n")
    store = Store(tmp_path / "data")
    system = load_scores(str(events), store)
    assert [(s.moment, s.score) for s in system.scores] == [("moment-1", 3), ("moment-2", -1)]
    assert pair_scores(system, load_scores(str(by_time), store)) == ([(3, 2), (-1, -1)], 0, 1)
    assert pair_scores(system, load_scores(str(by_id), store)) == ([(3, 3), (-1, -2)], 0, 0)
    assert main(["agreement", str(events), str(by_time), "--data", str(tmp_path / "data")]) == 0
    out = capsys.readouterr().out
    assert "challenges scored by both 2; only A 0, only B 1" in out and "exact agreement 50.0%" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("moment,score\nmoment-1,4\n")
    assert main(["agreement", str(events), str(bad), "--data", str(tmp_path / "data")]) == 2
    assert "bad.csv: line 2: score must be a whole number from -3 to 3" in capsys.readouterr().err
