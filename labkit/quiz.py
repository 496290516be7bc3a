"""A knowledge check: a few multiple-choice questions, each answered with feedback on the option chosen.

    from labkit import quiz

    quiz.ask([
        {
            "question": "Why did catalog reads slow down when only notifications was slow?",
            "options": {
                "They call notifications too.": "No: GET /books never touches notifications.",
                "They waited for a free worker.": "Yes: slow checkouts held all 4 shared workers.",
            },
            "answer": "They waited for a free worker.",
        },
    ])

A question is plain data: its text, its options (each option's text mapped to the feedback shown when it
is chosen, right or wrong), and the right option. In JupyterLab each question is a set of radio buttons
with a "Check" button; checking shows whether the choice is right and its feedback. Where widgets do not
render (nbconvert, nbval, a terminal), the quiz's text form is the questions and their options, without
the answers: the same on every run, so nbval compares it like any other output.
"""

import html
from dataclasses import dataclass

import ipywidgets as widgets

from labkit.errors import LabkitError

RIGHT, WRONG = "right", "wrong"


@dataclass(frozen=True)
class Question:
    text: str
    options: tuple[str, ...]
    answer: str
    feedback: dict[str, str]

    def check(self, choice: str | None) -> tuple[str | None, str]:
        """(RIGHT, WRONG or None when nothing is chosen, what to tell the learner)."""
        if choice is None:
            return None, "Choose an answer first."
        if choice not in self.feedback:
            raise LabkitError(f"{choice!r} is not one of the options of {self.text!r}")
        if choice == self.answer:
            return RIGHT, f"Right. {self.feedback[choice]}"
        return WRONG, f"Not quite. {self.feedback[choice]}"


def question(data: dict) -> Question:
    """A Question from its plain form, with a message naming the question when the data is wrong."""
    text = data.get("question")
    if not isinstance(text, str) or not text.strip():
        raise LabkitError(f"a quiz question needs its text under 'question', found {data!r}")
    options = data.get("options")
    if not isinstance(options, dict) or len(options) < 2:
        raise LabkitError(f"the question {text!r} needs at least two options, each mapped to its feedback")
    missing = [option for option, feedback in options.items() if not isinstance(feedback, str) or not feedback]
    if missing:
        raise LabkitError(f"the question {text!r} has options without feedback: {missing}")
    answer = data.get("answer")
    if answer not in options:
        raise LabkitError(f"the answer of {text!r} must be one of its options, found {answer!r}")
    unknown = set(data) - {"question", "options", "answer"}
    if unknown:
        raise LabkitError(f"the question {text!r} has unknown keys {sorted(unknown)}")
    return Question(text, tuple(options), answer, dict(options))


def as_text(questions: list[Question], title: str) -> str:
    lines = [f"{title}: {len(questions)} questions (answer them in JupyterLab)"]
    for number, item in enumerate(questions, 1):
        lines.append(f"{number}. {item.text}")
        lines += [f"   ( ) {option}" for option in item.options]
    return "\n".join(lines)


def ask(questions: list[dict], title: str = "Knowledge check"):
    """The quiz as a widget a notebook shows; its text form lists the questions and options."""
    return Quiz([question(data) for data in questions], title)


class Quiz(widgets.VBox):
    """Each question: radio buttons, a Check button, and the feedback on the answer chosen."""

    def __init__(self, questions: list[Question], title: str = "Knowledge check"):
        super().__init__(layout=widgets.Layout(border="1px solid #d0d7de", padding="6px"))
        self.questions = questions
        self.title = title
        self.results: list[str | None] = [None] * len(questions)
        self.score = widgets.HTML()
        self.choices, self.buttons, self.feedback = [], [], []
        blocks = [widgets.HTML(f"<b>{html.escape(title)}</b>"), self.score]
        for index, item in enumerate(questions):
            choice = widgets.RadioButtons(options=item.options, value=None, layout=widgets.Layout(width="auto"))
            choice.add_class("labkit-quiz-options")
            button = widgets.Button(description="Check", tooltip="check this answer")
            button.add_class("labkit-quiz-check")
            feedback = widgets.HTML("")
            feedback.add_class("labkit-quiz-feedback")
            button.on_click(lambda _button, index=index: self.check(index))
            self.choices.append(choice)
            self.buttons.append(button)
            self.feedback.append(feedback)
            heading = widgets.HTML(f"<b>{index + 1}.</b> {html.escape(item.text)}")
            blocks.append(widgets.VBox([heading, choice, widgets.HBox([button]), feedback]))
        self.children = blocks
        self.add_class("labkit-quiz")
        self._show_score()

    def check(self, index: int) -> str:
        """Check question `index` (0-based) against the option chosen; returns the feedback shown."""
        outcome, message = self.questions[index].check(self.choices[index].value)
        self.results[index] = outcome or self.results[index]
        colour = {RIGHT: "#1a7f37", WRONG: "#cf222e"}.get(outcome, "#9a6700")
        symbol = {RIGHT: "✔", WRONG: "✘"}.get(outcome, "…")
        box = self.feedback[index]
        box.value = f"<span style='color:{colour}'>{symbol} {html.escape(message)}</span>"
        for state in (RIGHT, WRONG):
            box.remove_class(f"labkit-quiz-{state}")
        if outcome:
            box.add_class(f"labkit-quiz-{outcome}")
        self._show_score()
        return message

    def answer(self, index: int, choice: str) -> str:
        """Choose `choice` for question `index` and check it, as a learner clicking would."""
        self.choices[index].value = choice
        return self.check(index)

    def _show_score(self) -> None:
        right = self.results.count(RIGHT)
        self.score.value = f"{right} of {len(self.questions)} right so far"

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = as_text(self.questions, self.title)
        return bundle
