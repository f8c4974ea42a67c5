"""One target model: the importer's drafts and the YAML they become follow `Target`, field for field."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, get_origin

import pytest
import yaml
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from bot.content import TARGET_KEYS, Case, Target
from bot.content.advice import case_advice
from bot.importer.case_yaml import case_data, render
from bot.importer.parse import ParsedUA, parse_ua
from bot.importer.targets import TargetDraft
from bot.importer.vocabulary import CONTACT_LABELS
from tests.ua_texts import new_case

ROOT = Path(__file__).resolve().parents[1]

# Values that Target's validators accept, for the fields that have one; any other field gets a value
# made from its type (sample below). A new field with a validator needs its value here.
VALID = {
    "id": "fiscal",
    "fax": "+502 2411 9124",
    "email": "fiscal.general@example.org",
    "twitter": "@FiscaliaGT",
    "letter_address": {"es": ["Avenida Central 100", "Ciudad Capital 01001"]},
}


def sample(key: str, info: FieldInfo) -> Any:
    """A value for one of Target's fields that Target accepts."""
    if key in VALID:
        return VALID[key]
    if info.annotation is bool:
        return True
    if get_origin(info.annotation) is list:
        return ["Avenida Central 100", "Ciudad Capital 01001"]
    return f"The {key} of the official"


def every_field() -> Any:
    """A draft with every one of Target's fields filled in, and lines the parser had not split yet."""
    values = {key: sample(key, info) for key, info in zip(TARGET_KEYS, Target.model_fields.values(), strict=True)}
    return TargetDraft(**values, head=["Fiscalía General", "Marta Elena Ruiz"])


def written(*targets: Any) -> dict[str, Any]:
    """The case file the importer writes for an appeal to these targets, read back as YAML."""
    parsed = ParsedUA(
        id="ua-201-26",
        ua="UA 201/26",
        title="Journalist held",
        summary="Held.",
        asks=["Release her."],
        targets=[*targets],
    )
    return yaml.safe_load(render(parsed, "a test"))


def test_the_keys_are_targets_fields_in_its_order() -> None:
    assert TARGET_KEYS == tuple(info.alias or name for name, info in Target.model_fields.items())
    assert "copy" in TARGET_KEYS and "copy_" not in TARGET_KEYS  # the case file's word, not the attribute


def test_a_draft_has_every_target_field_then_its_own() -> None:
    assert [f.name for f in dataclasses.fields(TargetDraft)] == [*TARGET_KEYS, "head"]


def test_a_new_draft_is_empty_with_targets_defaults() -> None:
    """Required fields start empty; the rest start as Target's defaults, so an unread field is not written."""
    draft, other = TargetDraft(), TargetDraft()
    for key, info in zip(TARGET_KEYS, Target.model_fields.values(), strict=True):
        expected = None if info.is_required() else info.get_default(call_default_factory=True)
        assert getattr(draft, key) == expected, key
    assert draft.address is not other.address  # no list shared between drafts


def test_a_draft_with_every_field_round_trips_into_a_valid_target() -> None:
    full = every_field()
    data = written(full, TargetDraft(name="Jorge Alberto Pineda"))  # full is a copy: Case needs an addressee
    assert list(data["targets"][0]) == list(TARGET_KEYS)  # all of them, in Target's order, and not `head`
    case = Case.model_validate(data)
    assert case.targets[0].model_dump(by_alias=True) == {key: getattr(full, key) for key in TARGET_KEYS}
    assert case.targets[1].name == "Jorge Alberto Pineda" and not case.targets[1].copy_


def test_empty_fields_are_left_out() -> None:
    data = written(TargetDraft(name="Marta Elena Ruiz", title="", fax=None, address=[], copy=False))
    assert data["targets"] == [{"id": "ruiz", "name": "Marta Elena Ruiz"}]  # an id always: pledges name her by it


def test_every_written_official_has_a_unique_id() -> None:
    data = written(TargetDraft(name="Marta Elena Ruiz"), TargetDraft(name="Ana Ruiz"), TargetDraft(name="Fiscalía"))
    assert [t["id"] for t in data["targets"]] == ["ruiz", "ruiz-2", "fiscalia"]
    assert not [w for w in case_advice(Case.model_validate(data), {}) if w.field.endswith(".id")]


def test_parsed_targets_are_written_in_targets_order_and_are_valid() -> None:
    data = case_data(parse_ua(new_case(dt.date(2030, 5, 15))))
    assert len(data["targets"]) == 3
    for target in data["targets"]:
        assert list(target) == [key for key in TARGET_KEYS if key in target]
        Target.model_validate(target)
    assert data["targets"][2]["copy"] is True


def test_unknown_keys_are_refused() -> None:
    """Neither side takes a field the other does not have, so a mistyped key fails where it is written."""
    with pytest.raises(TypeError):
        TargetDraft(name="Marta Elena Ruiz", not_a_target_field="x")
    with pytest.raises(AttributeError):
        TargetDraft().not_a_target_field = "x"  # slots: a typo in parse_targets fails there
    with pytest.raises(ValidationError, match="not_a_target_field"):
        Target.model_validate({"name": "Marta Elena Ruiz", "not_a_target_field": "x"})
    with pytest.raises(ValidationError, match="head"):
        Target.model_validate({"name": "Marta Elena Ruiz", "head": ["a draft's own lines"]})


def test_every_contact_label_fills_a_target_field() -> None:
    """parse_targets sets a draft's field by the label's key: it must be one Target has."""
    assert set(CONTACT_LABELS) <= set(TARGET_KEYS)


# Run in a fresh interpreter: models.py with one field more, as a newcomer would add it (a telex number,
# a field no one will really add, so the test still works once they do add theirs), then the importer
# imported on top of it; nothing else is changed.
NEWCOMER = """
import dataclasses, importlib.util, json, sys
from pathlib import Path

source = Path("bot/content/models.py").read_text()
fax = "    fax: Contacts = None\\n"
assert source.count(fax) == 1, "the fax field moved: update the anchor in tests/test_importer_targets.py"
spec = importlib.util.spec_from_loader("bot.content.models", loader=None, origin="bot/content/models.py")
models = importlib.util.module_from_spec(spec)
sys.modules["bot.content.models"] = models
exec(compile(source.replace(fax, fax + "    telex: str | None = None\\n"), "bot/content/models.py", "exec"), vars(models))

import yaml
from bot.content import Case
from bot.importer.parse import ParsedUA
from bot.importer.case_yaml import render
from bot.importer.targets import TargetDraft

draft = TargetDraft(name="Marta Elena Ruiz", email="fiscal@example.org", telex="412345 FISCAL GT", fax="+502 2411 9124")
parsed = ParsedUA(id="ua-201-26", ua="UA 201/26", title="Held", summary="Held.", asks=["Release her."], targets=[draft])
data = yaml.safe_load(render(parsed, "a test"))
print(json.dumps({
    "draft": [f.name for f in dataclasses.fields(TargetDraft)],
    "written": list(data["targets"][0]),
    "read": Case.model_validate(data).targets[0].telex,
}))
"""


def test_a_field_added_to_target_is_drafted_and_written_in_its_place() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", NEWCOMER], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    after_fax = TARGET_KEYS.index("fax") + 1
    assert found["draft"] == [*TARGET_KEYS[:after_fax], "telex", *TARGET_KEYS[after_fax:], "head"]
    assert found["written"] == [key for key in found["draft"] if key in {"id", "name", "fax", "telex", "email"}]
    assert found["written"].index("telex") == found["written"].index("fax") + 1
    assert found["read"] == "412345 FISCAL GT"


@pytest.mark.parametrize(
    ("written", "dialled"),
    [
        ("011-52-722-276-0046", "+52 722 276 0046"),  # from North America (UA 60/17's Mexican fax)
        ("00 44 20 7413 5500", "+44 20 7413 5500"),
        ("+44 (0)20 7413 5500", "+44 20 7413 5500"),  # the trunk zero is dialled at home only
        ("+52 (722) 276.0046", "+52 722 276 0046"),
        ("+7 495 987 58 41", "+7 495 987 58 41"),
        ("+7 495 9100766 ext 2134", "+7 495 9100766 ext 2134"),  # the extension as written
        ("0495 987 58 41", "0495 987 58 41"),  # a national number: no country code is guessed
        ("722-276-0046", "722-276-0046"),
    ],
)
def test_a_fax_is_written_in_international_form(written: str, dialled: str) -> None:
    from bot.importer.targets import parse_targets

    lines = [
        "Send appeals to:",
        "Attorney General",
        "Juan Pérez",
        f"Fax: {written}",
        "Salutation: Dear Attorney General",
    ]
    targets, notes = parse_targets(lines, " ".join(lines), degraded=False)
    assert [t.fax for t in targets] == [dialled]
    # The document's own form stays in the report, for a person to compare.
    assert (f"targets[0].fax: written as {written!r} in the document" in notes) == (written != dialled)
