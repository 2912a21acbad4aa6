"""The `with:` block of the `respond` agent, validated when a config is loaded.

Kept apart from the agent so the web process can validate configs cheaply: regular expressions,
path patterns and the comment template are all compiled here, at load time, so a broken one is a
config error with a line number instead of a failed job. Jinja2 is imported on first use only.

Templates render in Jinja2's immutable sandbox with autoescaping off (the output is Markdown, not
HTML). Undefined names render empty, and so does any attribute of one (`{{ issue.user.login }}`
in a `pull_request` event): one template can then serve several events. A typo therefore renders
empty rather than failing the job; `hookwise simulate` shows the rendered text before it ships.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from service.triggers.globs import GlobError, check_pattern

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import ImmutableSandboxedEnvironment

# GitHub rejects comment bodies over 65,536 characters; the publisher adds a hidden marker.
MAX_RENDERED_CHARS = 60_000
MAX_TEMPLATE_CHARS = 20_000
# GitHub's limit for a label name.
MAX_LABEL_CHARS = 50
MAX_PATTERN_CHARS = 1_000


def _invalid(reason: str) -> PydanticCustomError:
    """A validation error whose message is `reason` verbatim (pydantic would prefix a ValueError
    with "Value error, "; the reason goes in as context so braces in it are not placeholders)."""
    return PydanticCustomError("respond_options", "{reason}", {"reason": reason})


def _compile_regex(value: object) -> object:
    if not isinstance(value, str):
        return value  # pydantic reports the wrong type
    if len(value) > MAX_PATTERN_CHARS:
        raise _invalid(f"regular expression longer than {MAX_PATTERN_CHARS} characters")
    try:
        return re.compile(value)
    except re.error as error:
        raise _invalid(f"invalid regular expression {value!r}: {error}") from error


Regex = Annotated[re.Pattern[str], BeforeValidator(_compile_regex)]


class CommentTemplate:
    """A compiled Jinja2 template and the source it came from (stored with the job).

    A plain class, not a dataclass, so pydantic treats it as opaque and leaves it to the
    validator and serializer below."""

    __slots__ = ("source", "template")

    def __init__(self, *, source: str, template: Template) -> None:
        self.source = source
        self.template = template

    def __repr__(self) -> str:
        return f"CommentTemplate({self.source!r})"


def _none_as_empty(value: object) -> object:
    return "" if value is None else value


@functools.cache
def template_environment() -> ImmutableSandboxedEnvironment:
    """The one sandbox every respond template is compiled in (built on first use)."""
    from jinja2 import ChainableUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(
        autoescape=False,
        undefined=ChainableUndefined,
        # JSON null (an issue without a body) renders empty rather than as "None".
        finalize=_none_as_empty,
    )


def _compile_template(value: object) -> CommentTemplate:
    if isinstance(value, CommentTemplate):
        return value
    if not isinstance(value, str):
        raise _invalid("must be a string (a Jinja2 template)")
    if len(value) > MAX_TEMPLATE_CHARS:
        raise _invalid(f"template longer than {MAX_TEMPLATE_CHARS} characters")
    from jinja2 import TemplateSyntaxError

    try:
        template = template_environment().from_string(value)
    except TemplateSyntaxError as error:
        raise _invalid(
            f"template syntax error on line {error.lineno} of the template: {error.message}"
        ) from error
    return CommentTemplate(source=value, template=template)


TemplateField = Annotated[
    CommentTemplate,
    PlainValidator(_compile_template),
    PlainSerializer(lambda compiled: compiled.source, return_type=str),
    WithJsonSchema({"type": "string"}),
]


def _check_label(label: str) -> str:
    label = label.strip()
    if not label:
        raise _invalid("a label name cannot be empty")
    if len(label) > MAX_LABEL_CHARS:
        raise _invalid(f"label {label!r} is longer than GitHub's {MAX_LABEL_CHARS} characters")
    return label


def _validate_label(value: object) -> object:
    return _check_label(value) if isinstance(value, str) else value


Label = Annotated[str, BeforeValidator(_validate_label)]


def unique_labels(labels: Iterable[str]) -> list[str]:
    """Labels in order without repeats; GitHub's label names ignore case, so `Bug` repeats `bug`."""
    first_spelling: dict[str, str] = {}
    for label in labels:
        first_spelling.setdefault(label.casefold(), label)
    return list(first_spelling.values())


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Conditions(_Options):
    """`when:` — every condition given must hold for the agent to respond."""

    first_time_contributor: bool | None = None
    missing_info: bool | None = None


class MissingInfo(_Options):
    """How `missing_info` reads an issue."""

    bug_labels: list[str] = Field(default_factory=lambda: ["bug"])
    """An issue with one of these labels (any case) is a bug report: besides its empty template
    sections, the version, the steps to reproduce and the error output are asked for."""
    ignore_sections: list[str] = Field(default_factory=list)
    """Headings never asked for, even when left empty (compared ignoring case and punctuation)."""


class Rule(_Options):
    """Labels to add when every pattern given matches: `title`/`body` are regular expressions
    searched in the issue's or pull request's text, `paths` are Actions-style patterns of which
    at least one changed file must match (last matching pattern wins, `!` negates)."""

    labels: Annotated[list[Label], Field(min_length=1)]
    title: Regex | None = None
    body: Regex | None = None
    paths: list[str] | None = Field(default=None, min_length=1)

    @field_validator("labels")
    @classmethod
    def _dedupe(cls, labels: list[str]) -> list[str]:
        return unique_labels(labels)

    @field_validator("paths")
    @classmethod
    def _check_paths(cls, paths: list[str] | None) -> list[str] | None:
        for pattern in paths or ():
            try:
                check_pattern(pattern)
            except GlobError as error:
                raise _invalid(f"path pattern {pattern!r}: {error}") from error
        return paths

    @model_validator(mode="after")
    def _needs_a_matcher(self) -> Rule:
        if self.title is None and self.body is None and self.paths is None:
            raise _invalid("a rule needs at least one of `title`, `body` or `paths`")
        return self

    @property
    def needs_changed_files(self) -> bool:
        return self.paths is not None


class RespondOptions(_Options):
    """`with:` of the `respond` agent.

    It responds when every `when:` condition holds and, if `rules` are given, at least one rule
    matches. Responding means: the sticky `comment` (a template), `labels` plus the labels of every
    matching rule, and `remove_labels`.
    """

    when: Conditions = Field(default_factory=Conditions)
    comment: TemplateField | None = None
    labels: list[Label] = Field(default_factory=list)
    remove_labels: list[Label] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    missing_info: MissingInfo = Field(default_factory=MissingInfo)

    @field_validator("labels", "remove_labels")
    @classmethod
    def _dedupe(cls, labels: list[str]) -> list[str]:
        return unique_labels(labels)

    @property
    def needs_changed_files(self) -> bool:
        """Whether a pull request's changed files decide anything here: the worker fetches them
        (read-only) for such automations and passes them as `AgentContext.changed_files`."""
        return any(rule.needs_changed_files for rule in self.rules)

    @model_validator(mode="after")
    def _does_something(self) -> RespondOptions:
        if self.comment is None and not self.labels and not self.remove_labels and not self.rules:
            raise _invalid(
                "respond needs something to do: `comment`, `labels`, `remove_labels` or `rules`"
            )
        return self


def render_comment(template: CommentTemplate, variables: Mapping[str, Any]) -> str:
    """The template's text over `variables`, cut at MAX_RENDERED_CHARS.

    Rendering streams, so a template that loops over a huge list stops costing once the cap is
    reached. Values are inserted as text: `{{ 7*7 }}` inside an issue title stays `{{ 7*7 }}`.
    """
    pieces: list[str] = []
    size = 0
    for piece in template.template.generate(dict(variables)):
        pieces.append(piece)
        size += len(piece)
        if size > MAX_RENDERED_CHARS:
            return "".join(pieces)[:MAX_RENDERED_CHARS] + "\n\n…"
    return "".join(pieces)
