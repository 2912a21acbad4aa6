"""Missing-information detection over markdown templates, issue forms and free-form bug reports."""

from __future__ import annotations

import pytest

from workers.agents.triage.missing_info import (
    IssueTemplate,
    MissingItem,
    find_missing,
    heading_key,
    is_template_path,
    parse_issue_form,
    parse_markdown_template,
    parse_templates,
    section_is_unfilled,
    split_sections,
)

# GitHub's default "Bug report" markdown template (bold-line headings, front matter).
BUG_TEMPLATE_MD = """---
name: Bug report
about: Create a report to help us improve
title: ''
labels: bug, needs-triage
assignees: ''

---

**Describe the bug**
A clear and concise description of what the bug is.

**To Reproduce**
Steps to reproduce the behavior:
1. Go to '...'
2. Click on '....'
3. See error

**Expected behavior**
A clear and concise description of what you expected to happen.

**Screenshots**
If applicable, add screenshots to help explain your problem.

**Additional context**
Add any other context about the problem here.
"""

# A template whose guidance sits in HTML comments, which GitHub hides when rendering.
FEATURE_TEMPLATE_MD = """---
name: Feature request
labels: [enhancement]
---
## Problem
<!-- What problem would this solve? -->

## Proposal
<!-- Describe the solution you'd like. -->

<!-- ## Hidden heading that never shows -->
"""

BUG_FORM_YML = """
name: Bug Report
description: File a bug report
labels: ["bug"]
body:
  - type: markdown
    attributes:
      value: Thanks for taking the time!
  - type: textarea
    id: what-happened
    attributes:
      label: What happened?
      value: "A bug happened!"
    validations:
      required: true
  - type: input
    id: version
    attributes:
      label: Version
    validations:
      required: true
  - type: textarea
    id: logs
    attributes:
      label: Relevant log output
      description: Optional. Paste any relevant log output.
      render: shell
  - type: checkboxes
    id: terms
    attributes:
      label: Code of Conduct
      options:
        - label: I agree to follow this project's Code of Conduct
          required: true
"""


@pytest.fixture
def bug_template() -> IssueTemplate:
    return parse_markdown_template(BUG_TEMPLATE_MD, path=".github/ISSUE_TEMPLATE/bug_report.md")


def _keys(items: list[MissingItem]) -> list[str]:
    return [item.key for item in items]


def test_markdown_template_front_matter_and_sections(bug_template: IssueTemplate) -> None:
    assert bug_template.name == "Bug report"
    assert bug_template.labels == ("bug", "needs-triage")
    assert [s.key for s in bug_template.sections] == [
        "describe-the-bug",
        "to-reproduce",
        "expected-behavior",
        "screenshots",
        "additional-context",
    ]
    required = {s.key: s.required for s in bug_template.sections}
    assert required["to-reproduce"]
    assert not required["screenshots"]
    assert not required["additional-context"]
    assert "1. Go to '...'" in bug_template.sections[1].placeholder


def test_commented_out_headings_are_not_sections() -> None:
    template = parse_markdown_template(FEATURE_TEMPLATE_MD, path="x/ISSUE_TEMPLATE/feature.md")
    assert [s.heading for s in template.sections] == ["Problem", "Proposal"]
    assert template.labels == ("enhancement",)


def test_issue_form_fields_become_sections() -> None:
    form = parse_issue_form(BUG_FORM_YML, path=".github/ISSUE_TEMPLATE/bug.yml")
    assert [(s.heading, s.required) for s in form.sections] == [
        ("What happened?", True),
        ("Version", True),
        ("Relevant log output", False),
    ]
    assert form.sections[0].placeholder == "A bug happened!"


def test_template_paths_and_invalid_files_are_reported_not_raised() -> None:
    assert is_template_path(".github/ISSUE_TEMPLATE/bug.yml")
    assert is_template_path(".github/ISSUE_TEMPLATE.md")
    assert not is_template_path(".github/ISSUE_TEMPLATE/config.yml")
    assert not is_template_path("docs/README.md")
    parsed = parse_templates(
        {
            ".github/ISSUE_TEMPLATE/bug_report.md": BUG_TEMPLATE_MD,
            ".github/ISSUE_TEMPLATE/broken.yml": "body: [unclosed",
            ".github/ISSUE_TEMPLATE/config.yml": "blank_issues_enabled: false",
            "README.md": "# hello",
        }
    )
    assert [t.name for t in parsed.templates] == ["Bug report"]
    assert list(parsed.invalid) == [".github/ISSUE_TEMPLATE/broken.yml"]


def test_headings_inside_code_fences_are_content() -> None:
    sections = split_sections("## Steps\n```sh\n# build first\nmake\n```\n## Logs\nboom")
    assert [heading for heading, _ in sections] == ["", "Steps", "Logs"]
    assert "# build first" in sections[1][1]


@pytest.mark.parametrize(
    ("content", "unfilled"),
    [
        ("", True),
        ("<!-- describe it -->", True),
        ("_No response_", True),
        ("N/A", True),
        ("Steps to reproduce the behavior:\n1. Go to '...'", True),
        ("Steps to reproduce the behavior:\n1. Run `hdfs dfs -ls /`", False),
        ("It crashes.", False),
    ],
)
def test_section_is_unfilled(content: str, unfilled: bool) -> None:
    placeholder = "Steps to reproduce the behavior:\n1. Go to '...'\n2. Click on '....'"
    assert section_is_unfilled(content, placeholder) is unfilled


def test_untouched_template_sections_are_listed(bug_template: IssueTemplate) -> None:
    body = BUG_TEMPLATE_MD.split("---\n", 2)[2].replace(
        "A clear and concise description of what the bug is.", "Saving a file wipes it."
    )
    missing = find_missing("Save wipes file", body, templates=[bug_template])
    assert _keys(missing) == ["template:to-reproduce", "template:expected-behavior"]
    assert all(item.kind == "template-section" for item in missing)
    assert "“To Reproduce”" in missing[0].ask


def test_deleted_section_of_a_used_template_is_missing(bug_template: IssueTemplate) -> None:
    body = (
        "**Describe the bug**\nSaving wipes the file.\n\n"
        "**To Reproduce**\n1. open\n2. save\n\n**Additional context**\nnone"
    )
    missing = find_missing("Save wipes file", body, templates=[bug_template])
    assert _keys(missing) == ["template:expected-behavior"]
    assert "is missing" in missing[0].ask


def test_free_form_body_is_not_judged_against_a_template(bug_template: IssueTemplate) -> None:
    body = "Upgrading to 3.3.6 the NameNode fails.\n\n1. start it\n2. look at the log"
    assert find_missing("NameNode fails", body, templates=[bug_template]) == []


def test_issue_form_with_empty_required_field() -> None:
    form = parse_issue_form(BUG_FORM_YML, path=".github/ISSUE_TEMPLATE/bug.yml")
    body = (
        "### What happened?\n\nA bug happened!\n\n### Version\n\n_No response_\n\n"
        "### Relevant log output\n\n_No response_\n\n### Code of Conduct\n\n- [X] I agree"
    )
    missing = find_missing("Crash", body, templates=[form], is_bug=True)
    assert _keys(missing) == [
        "template:what-happened",
        "template:version",
        "reproduction",
        "error-output",
    ]


def test_bug_without_version_steps_or_output() -> None:
    missing = find_missing("It is broken", "When I use it, it does not work.", is_bug=True)
    assert _keys(missing) == ["version", "reproduction", "error-output"]
    assert all(item.ask.endswith((".", "?")) for item in missing)


def test_complete_bug_report_lacks_nothing() -> None:
    body = (
        "Hadoop version 3.3.6 on Ubuntu.\n\n"
        "Steps:\n1. `hdfs dfs -put big.bin /tmp`\n2. kill the DataNode\n\n"
        "```\njava.io.IOException: All datanodes are bad\n"
        "    at org.apache.hadoop.hdfs.DataStreamer.run(DataStreamer.java:723)\n```"
    )
    assert find_missing("put fails when a DataNode dies", body, is_bug=True) == []


@pytest.mark.parametrize(
    ("body", "absent"),
    [
        ("Using v2.1.0. Steps:\n1. run\n2. wait\nTraceback (most recent call last):", []),
        (
            "Steps to reproduce: run the job with 3 reducers and kill one.",
            ["version", "error-output"],
        ),
        ("Version: 2.7\nTypeError: x is undefined", ["reproduction"]),
        ("Version 3.1\n1. run\n2. crash", ["error-output"]),
    ],
)
def test_bug_details_are_found_anywhere(body: str, absent: list[str]) -> None:
    missing = find_missing("bug", body, is_bug=True)
    assert _keys(missing) == absent


def test_non_bug_gets_no_bug_questions() -> None:
    assert find_missing("Add dark mode", "Please add a dark theme.", is_bug=False) == []


def test_version_in_the_title_counts() -> None:
    missing = find_missing("Crash in 3.3.6", "1. run\n2. boom\nERROR: failed", is_bug=True)
    assert missing == []


def test_placeholder_steps_do_not_count_as_reproduction(bug_template: IssueTemplate) -> None:
    body = BUG_TEMPLATE_MD.split("---\n", 2)[2].replace(
        "A clear and concise description of what the bug is.", "Crash in 2.4.1"
    )
    missing = find_missing("Crash", body, templates=[bug_template], is_bug=True)
    assert "template:to-reproduce" in _keys(missing)
    # Asked once, through the template section, not again as a bug detail.
    assert "reproduction" not in _keys(missing)
    assert "version" not in _keys(missing)


def test_untrusted_bodies_do_not_break_detection(bug_template: IssueTemplate) -> None:
    hidden = "<!-- 1. step\n2. step\nTraceback (most recent call last): version 1.2.3 -->"
    assert _keys(find_missing("x", hidden, is_bug=True)) == [
        "version",
        "reproduction",
        "error-output",
    ]
    junk = "\x00\ufeff\u202e" * 10_000 + bytes(range(256)).decode("latin-1") * 1_000
    assert len(find_missing("x", junk, templates=[bug_template], is_bug=True)) == 3
    huge = "**Describe the bug**\nboom\n" + "word " * 2_000_000 + "\n**To Reproduce**\n1. a\n2. b"
    missing = find_missing("x", huge, templates=[bug_template], is_bug=True)
    assert "template:describe-the-bug" not in _keys(missing)


def test_heading_key_ignores_markup_and_emoji() -> None:
    assert heading_key("🐛 Steps to Reproduce:") == "steps-to-reproduce"
    assert heading_key("**Version**") == "version"
