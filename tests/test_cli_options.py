"""Values on the command line: a number that makes no sense stops the command before it starts,
with the option and the value in the message; a secret starting with '-' can still be given."""

from __future__ import annotations

import pytest

from encounter_feedback.cli.main import main
from encounter_feedback.cli.options import not_negative


@pytest.mark.parametrize(
    "argv, message",
    [
        (["agreement", "a.csv", "b.csv", "--unit", "nan"], "argument --unit: expected a number above 0, got 'nan'"),
        (["agreement", "a.csv", "b.csv", "--unit", "0"], "argument --unit: expected a number above 0, got '0'"),
        (["serve", "--retain-days", "-1"], "argument --retain-days: expected a number above 0, got '-1'"),
        (["serve", "--idle-close", "inf"], "argument --idle-close: expected 0 or a number above it, got 'inf'"),
        (["bench", "live", "x.wav", "--encounters", "1.5"], "expected a whole number of 1 or more, got '1.5'"),
        (["bench", "live", "x.wav", "--stagger", "-2"], "argument --stagger: expected 0 or a number above it"),
        (["bench", "live", "x.wav", "--limit", "soon"], "argument --limit: expected a number above 0, got 'soon'"),
    ],
)
def test_a_senseless_number_is_refused_with_the_option_named(argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2 and message in capsys.readouterr().err


def test_zero_idle_close_still_means_never():
    assert not_negative("0") == 0.0 and not_negative(" 2.5 ") == 2.5


def test_a_secret_that_starts_with_a_dash_is_given_with_an_equals_sign():
    """New join tokens and keys are hex; one made by an older version may start with '-', which
    argparse takes for an option unless it is written `--token=VALUE` (as the help says)."""
    from encounter_feedback.cli.main import parser

    args = parser().parse_args(["stream", "x.wav", "--encounter", "enc-1", "--token=-Ab3", "--key=-k9"])
    assert (args.token, args.key) == ("-Ab3", "-k9")
