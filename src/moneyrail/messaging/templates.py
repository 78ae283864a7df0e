"""Message templates: `{{ name }}` placeholders filled from variables; a missing one is an
error naming it. Values are HTML-escaped in HTML bodies."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Mapping

from moneyrail.core import limits
from moneyrail.core.errors import Unprocessable

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,99})\s*\}\}")
_BRACES = re.compile(r"\{\{|\}\}")


class TemplateVariableMissing(Unprocessable):
    code = "template_variable_missing"
    title = "A template variable is missing"


class TemplateInvalid(Unprocessable):
    code = "template_invalid"
    title = "The template is not valid"


def variables_of(*parts: str | None) -> list[str]:
    """The placeholder names used, in order of first use.

    Raises:
        TemplateInvalid: unbalanced or malformed `{{ }}`, or too many variables.
    """
    names: list[str] = []
    for part in parts:
        if not part:
            continue
        if _BRACES.search(PLACEHOLDER.sub("", part)):
            raise TemplateInvalid("a `{{ }}` placeholder is malformed; use {{ name }}")
        for name in PLACEHOLDER.findall(part):
            if name not in names:
                names.append(name)
    if len(names) > limits.template_variables_max:
        raise TemplateInvalid(
            f"a template may use at most {limits.template_variables_max} variables"
        )
    return names


def render(
    template: str | None, variables: Mapping[str, object], *, escape: bool = False
) -> str | None:
    """Fill the placeholders. Raises TemplateVariableMissing with the first missing name."""
    if template is None:
        return None

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables or variables[name] is None:
            raise TemplateVariableMissing(
                f"the template needs the variable {name!r}", extra={"variable": name}
            )
        value = str(variables[name])
        return html_lib.escape(value) if escape else value

    return PLACEHOLDER.sub(fill, template)
