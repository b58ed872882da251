"""How a problem becomes the model's input, per prompt style.

``completion``: the problem's prompt as is, for a base model to continue (the papers'
setting; the reply is the code). ``chat``: the checkpoint's own chat template around one
user message, :data:`DEFAULT_INSTRUCTION` followed by the problem's prompt in a fenced
block; the code is then extracted from the reply (:mod:`crlhf.generation.extract`).
``auto``: chat when the tokenizer carries a chat template, else completion.
"""

from __future__ import annotations

from typing import Any, Literal

from crlhf.errors import InvalidInput
from crlhf.evaluation.problems import BenchProblem

PromptStyle = Literal["completion", "chat"]
PROMPT_STYLES = ("completion", "chat", "auto")

DEFAULT_INSTRUCTION = (
    "Complete the following Python code. Reply with the whole function, including its "
    "imports, in one ```python code block."
)
"""The user message before the problem: asks for one fenced block holding a complete,
runnable function (what extraction looks for first)."""


def resolve_style(requested: str, tokenizer: Any) -> PromptStyle:
    """``auto`` made concrete; ``chat`` refused for a tokenizer without a template."""
    if requested not in PROMPT_STYLES:
        raise InvalidInput(
            f"unknown prompt style {requested!r} (one of {', '.join(PROMPT_STYLES)})",
            field="prompt_style",
        )
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if requested == "auto":
        return "chat" if has_template else "completion"
    if requested == "chat" and not has_template:
        raise InvalidInput(
            "chat needs a tokenizer with a chat template and this checkpoint has none "
            "(use --prompt-style completion)",
            field="prompt_style",
        )
    return "chat" if requested == "chat" else "completion"


def user_message(problem: BenchProblem, instruction: str = DEFAULT_INSTRUCTION) -> str:
    return f"{instruction}\n\n```python\n{problem.prompt.rstrip()}\n```"


def build_prompt(
    problem: BenchProblem,
    style: PromptStyle,
    tokenizer: Any,
    instruction: str = DEFAULT_INSTRUCTION,
) -> str:
    """The text the model is given (chat: the template's rendering, generation prompt on)."""
    if style == "completion":
        return problem.prompt
    messages = [{"role": "user", "content": user_message(problem, instruction)}]
    rendered: str = tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True
    )
    return rendered
