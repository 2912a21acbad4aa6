"""What an issue lacks: template sections left empty or unchanged, and for a bug no version, no
reproduction steps or no error output. Pure functions over text; the caller supplies the
repository's template files (path → content) and whether the issue is a bug.

Templates come in two shapes. Markdown templates (`.github/ISSUE_TEMPLATE/*.md`, with YAML front
matter) are copied into the new issue's body as is: a section is its heading (`### Steps` or a
bold-only line such as GitHub's own `**Describe the bug**`) followed by placeholder text, often
inside an HTML comment, which GitHub hides when rendering. Issue forms (`*.yml`) are rendered by
GitHub as `### <label>` followed by the answer, or `_No response_` when a field was left empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal

import yaml

from workers.agents.untrusted import sanitize, strip_html_comments

# Generous: a huge body must not lose the sections in its middle, but regexes stay cheap.
BODY_MAX_CHARS = 100_000
# A body that shows fewer of a template's headings than this did not use that template.
TEMPLATE_MATCH_SHARE = 0.5

MissingKind = Literal["template-section", "version", "reproduction", "error-output"]

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$")
_BOLD_HEADING = re.compile(r"^ {0,3}(?:\*\*|__)([^*_].*?)(?:\*\*|__)[ \t]*:?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_NON_WORD = re.compile(r"[^\w]+")
# What GitHub writes for an empty issue-form field, and what people type instead of deleting.
_EMPTY_ANSWERS = frozenset(
    {"_no response_", "no response", "n/a", "na", "none", "-", "...", "tbd", "todo"}
)
_OPTIONAL_SECTION = re.compile(
    r"optional|if applicable|additional (?:context|info)|anything else|screenshots?", re.I
)
_REPRODUCTION_HEADING = re.compile(r"reproduc|steps|how to trigger|minimal example", re.I)
_VERSION_HEADING = re.compile(r"version|environment|platform|system info", re.I)
_ERROR_HEADING = re.compile(r"\blogs?\b|error|output|stack ?trace|traceback|crash", re.I)

_VERSION = re.compile(
    r"\bv?\d+\.\d+(?:\.\d+)*(?:[-+.]?(?:rc|alpha|beta|dev|post|snapshot)[\w.]*)?\b"
    r"|\bversion\s*[:=#]?\s*\w"
    r"|\b(?:commit|sha)\s*[:=]?\s*[0-9a-f]{7,40}\b",
    re.I,
)
_ORDERED_ITEM = re.compile(r"^\s*(?:\d+[.)]|step\s*\d+:?)\s+\S", re.I | re.M)
_REPRODUCTION_PHRASE = re.compile(
    r"(?:to reproduce|steps to|reproduc(?:e|ible|tion) (?:with|by|steps)|repro:|minimal example)"
    r"\W+\S.{15,}",
    re.I | re.S,
)
_ERROR_OUTPUT = re.compile(
    r"Traceback \(most recent call last\)"
    r"|^\s+at [\w$.<>]+\([\w$.]*(?::\d+)?\)"  # Java / JS stack frames
    r"|\b\w*(?:Exception|Error)\b[:(]"
    r"|^\s*(?:E\s|ERROR|FATAL|FAIL(?:ED)?|panic:|error(?:\[E\d+\])?:)"
    r"|segmentation fault|core dumped|exit (?:code|status) [1-9]\d*|\bstderr\b",
    re.I | re.M,
)
_CODE_BLOCK = re.compile(r"^ {0,3}(```|~~~)|\{code[:}]|\{noformat\}", re.M)


class TemplateError(ValueError):
    """A template file that cannot be parsed."""


@dataclass(frozen=True, slots=True)
class TemplateSection:
    """One section of a template: its heading as written, the key used in reports, the text the
    template pre-fills under it (compared against the issue to spot unchanged sections), and
    whether the reporter is expected to fill it."""

    heading: str
    key: str
    placeholder: str
    required: bool


@dataclass(frozen=True, slots=True)
class IssueTemplate:
    name: str
    path: str
    labels: tuple[str, ...]
    sections: tuple[TemplateSection, ...]


@dataclass(frozen=True, slots=True)
class TemplateSet:
    """The parsed templates of a repository, and the files that could not be parsed (and why)."""

    templates: tuple[IssueTemplate, ...]
    invalid: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MissingItem:
    """Something the issue should contain but does not, with the request to post about it."""

    kind: MissingKind
    key: str
    ask: str


def heading_key(heading: str) -> str:
    """Heading text as a comparable key: lowercase words joined by '-', markup and emoji dropped."""
    return "-".join(_NON_WORD.sub(" ", heading.lower().replace("_", " ")).split())


def _heading_text(line: str) -> str | None:
    for pattern in (_ATX_HEADING, _BOLD_HEADING):
        match = pattern.match(line)
        if match:
            text = match.group(1).strip().rstrip(":").strip()
            if heading_key(text):
                return text
    return None


def split_sections(markdown: str) -> list[tuple[str, str]]:
    """(heading, content) pairs in order; text before the first heading has heading ''.
    Lines inside fenced code blocks are never headings (a `# comment` in a shell snippet)."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    in_fence: str | None = None
    for line in markdown.splitlines():
        fence = _FENCE.match(line)
        if fence:
            marker = fence.group(1)
            in_fence = None if in_fence == marker else (in_fence or marker)
        heading = None if in_fence or fence else _heading_text(line)
        if heading is None:
            sections[-1][1].append(line)
        else:
            sections.append((heading, []))
    return [(heading, "\n".join(lines).strip()) for heading, lines in sections]


def _is_optional(heading: str, placeholder: str) -> bool:
    return bool(_OPTIONAL_SECTION.search(heading) or _OPTIONAL_SECTION.search(placeholder[:200]))


def _front_matter(text: str, path: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as error:
        raise TemplateError(f"{path}: front matter is not YAML ({error})") from error
    if not isinstance(meta, dict):
        raise TemplateError(f"{path}: front matter is not a mapping")
    return meta, text[match.end() :]


def _labels(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(label.strip() for label in value.split(",") if label.strip())
    if isinstance(value, list):
        return tuple(str(label).strip() for label in value if str(label).strip())
    return ()


def parse_markdown_template(text: str, *, path: str) -> IssueTemplate:
    """A markdown issue template: front matter (name, labels) and its headed sections."""
    meta, body = _front_matter(text, path)
    # Headings commented out in the template never show in an issue.
    body = strip_html_comments(body)
    sections = tuple(
        TemplateSection(
            heading=heading,
            key=heading_key(heading),
            placeholder=placeholder,
            required=not _is_optional(heading, placeholder),
        )
        for heading, placeholder in split_sections(body)
        if heading
    )
    return IssueTemplate(
        name=str(meta.get("name") or PurePosixPath(path).stem),
        path=path,
        labels=_labels(meta.get("labels")),
        sections=sections,
    )


def _form_section(element: object, path: str) -> TemplateSection | None:
    if not isinstance(element, dict):
        raise TemplateError(f"{path}: body elements must be mappings")
    # Markdown elements are not submitted; checkboxes cannot be submitted unticked if required.
    if element.get("type") not in {"textarea", "input", "dropdown"}:
        return None
    attributes = element.get("attributes") or {}
    label = str(attributes.get("label") or "").strip()
    if not label:
        raise TemplateError(f"{path}: a {element.get('type')} element has no label")
    validations = element.get("validations") or {}
    return TemplateSection(
        heading=label,
        key=heading_key(label),
        placeholder=str(attributes.get("value") or ""),
        required=bool(validations.get("required"))
        or not _is_optional(label, str(attributes.get("description") or "")),
    )


def parse_issue_form(text: str, *, path: str) -> IssueTemplate:
    """A GitHub issue form (YAML): its text, dropdown and input fields become sections."""
    try:
        form = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise TemplateError(f"{path}: not YAML ({error})") from error
    if not isinstance(form, dict) or not isinstance(form.get("body"), list):
        raise TemplateError(f"{path}: an issue form needs a `body` list")
    sections = tuple(
        section for element in form["body"] if (section := _form_section(element, path))
    )
    return IssueTemplate(
        name=str(form.get("name") or PurePosixPath(path).stem),
        path=path,
        labels=_labels(form.get("labels")),
        sections=sections,
    )


def is_template_path(path: str) -> bool:
    """Issue templates GitHub uses: `.github/ISSUE_TEMPLATE/*.md|yml|yaml` (not `config.yml`)
    and the legacy single `ISSUE_TEMPLATE.md` (in the root, `.github/` or `docs/`)."""
    posix = PurePosixPath(path)
    if posix.name.lower() == "issue_template.md":
        return True
    return (
        posix.parent.name.lower() == "issue_template"
        and posix.suffix.lower() in {".md", ".yml", ".yaml"}
        and posix.stem.lower() != "config"
    )


def parse_templates(files: Mapping[str, str]) -> TemplateSet:
    """Every issue template among `files` (path → content); others are ignored."""
    templates: list[IssueTemplate] = []
    invalid: dict[str, str] = {}
    for path, text in sorted(files.items()):
        if not is_template_path(path):
            continue
        parse = parse_markdown_template if path.lower().endswith(".md") else parse_issue_form
        try:
            templates.append(parse(text, path=path))
        except TemplateError as error:
            invalid[path] = str(error)
    return TemplateSet(templates=tuple(templates), invalid=invalid)


def _meaningful_lines(text: str) -> list[str]:
    lines = (" ".join(line.split()).lower() for line in sanitize(text).splitlines())
    return [line for line in lines if line]


def section_is_unfilled(content: str, placeholder: str) -> bool:
    """True when content is empty once HTML comments are gone, an "empty" answer such as
    `_No response_`, or only lines of the template's own placeholder."""
    lines = _meaningful_lines(content)
    if not lines or (len(lines) == 1 and lines[0] in _EMPTY_ANSWERS):
        return True
    placeholder_lines = set(_meaningful_lines(placeholder))
    return bool(placeholder_lines) and all(line in placeholder_lines for line in lines)


def match_template(
    body_sections: Sequence[tuple[str, str]], templates: Iterable[IssueTemplate]
) -> IssueTemplate | None:
    """The template the body was written from: the one most of whose headings it shows."""
    present = {heading_key(heading) for heading, _ in body_sections if heading}
    best: tuple[float, IssueTemplate] | None = None
    for template in templates:
        keys = {section.key for section in template.sections}
        if not keys:
            continue
        share = len(keys & present) / len(keys)
        if share >= TEMPLATE_MATCH_SHARE and (best is None or share > best[0]):
            best = (share, template)
    return best[1] if best else None


def _section_ask(section: TemplateSection, *, absent: bool) -> str:
    state = "is missing" if absent else "was left empty or unchanged"
    return f"The “{section.heading}” section of the template {state}; please fill it in."


def unfilled_template_sections(
    body_sections: Sequence[tuple[str, str]], template: IssueTemplate
) -> list[TemplateSection]:
    contents: dict[str, str] = {}
    for heading, content in body_sections:
        if heading:
            contents.setdefault(heading_key(heading), content)
    return [
        section
        for section in template.sections
        if section.required
        and (
            section.key not in contents
            or section_is_unfilled(contents[section.key], section.placeholder)
        )
    ]


def _filled_section(body_sections: Sequence[tuple[str, str]], heading: re.Pattern[str]) -> str:
    return "\n".join(
        content
        for title, content in body_sections
        if title and heading.search(title) and not section_is_unfilled(content, "")
    )


def has_version(text: str, body_sections: Sequence[tuple[str, str]]) -> bool:
    return bool(_filled_section(body_sections, _VERSION_HEADING)) or bool(_VERSION.search(text))


def has_reproduction(text: str, body_sections: Sequence[tuple[str, str]]) -> bool:
    if _filled_section(body_sections, _REPRODUCTION_HEADING):
        return True
    ordered_items = len(_ORDERED_ITEM.findall(text))
    return ordered_items >= 2 or bool(_REPRODUCTION_PHRASE.search(text))


def has_error_output(text: str, body_sections: Sequence[tuple[str, str]]) -> bool:
    if _filled_section(body_sections, _ERROR_HEADING):
        return True
    return bool(_ERROR_OUTPUT.search(text) or _CODE_BLOCK.search(text))


_BUG_CHECKS: tuple[tuple[MissingKind, re.Pattern[str], str], ...] = (
    (
        "version",
        _VERSION_HEADING,
        "Which version are you using (release number or commit), and on what platform?",
    ),
    (
        "reproduction",
        _REPRODUCTION_HEADING,
        "Please list the steps to reproduce the problem, ideally a minimal example.",
    ),
    (
        "error-output",
        _ERROR_HEADING,
        "Please paste the full error message or log output, in a ``` code block.",
    ),
)


def find_missing(
    title: str,
    body: str,
    *,
    templates: Iterable[IssueTemplate] = (),
    is_bug: bool = False,
) -> list[MissingItem]:
    """What the issue lacks: unfilled sections of the template it was written from (if any), then,
    for a bug, the version / reproduction / error output it does not show anywhere. A bug detail
    already asked for through its template section is not asked twice."""
    text = sanitize(body, max_chars=BODY_MAX_CHARS)
    body_sections = split_sections(text)
    template = match_template(body_sections, templates)
    unfilled = unfilled_template_sections(body_sections, template) if template else []
    present_keys = {heading_key(heading) for heading, _ in body_sections if heading}
    missing = [
        MissingItem(
            kind="template-section",
            key=f"template:{section.key}",
            ask=_section_ask(section, absent=section.key not in present_keys),
        )
        for section in unfilled
    ]
    if not is_bug:
        return missing
    # Placeholder text left in unfilled sections ("1. Go to '...'") must not count as content.
    unfilled_keys = {section.key for section in unfilled}
    filled_sections = [
        (heading, content)
        for heading, content in body_sections
        if heading_key(heading) not in unfilled_keys
    ]
    filled_text = "\n".join(f"{heading}\n{content}" for heading, content in filled_sections)
    present = {
        "version": has_version(
            f"{sanitize(title, max_chars=1_000)}\n{filled_text}", filled_sections
        ),
        "reproduction": has_reproduction(filled_text, filled_sections),
        "error-output": has_error_output(filled_text, filled_sections),
    }
    for kind, heading, ask in _BUG_CHECKS:
        already_asked = any(heading.search(section.heading) for section in unfilled)
        if not present[kind] and not already_asked:
            missing.append(MissingItem(kind=kind, key=kind, ask=ask))
    return missing
