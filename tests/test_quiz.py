"""The knowledge check (labkit.quiz): the feedback a learner sees for a right and a wrong answer, a text form
nbval can compare, and a clear message for a question written wrongly. No browser: the widgets are driven
as the browser would drive them, by setting the radio buttons' value and clicking the Check button."""

import pytest

from labkit import quiz
from labkit.errors import LabkitError

pytestmark = pytest.mark.no_cloud

QUESTIONS = [
    {
        "question": "Why did catalog reads slow down while only notifications was slow?",
        "options": {
            "They call notifications too.": "GET /books never touches notifications.",
            "They waited for one of the 4 shared workers.": "Slow checkouts held every worker.",
        },
        "answer": "They waited for one of the 4 shared workers.",
    },
    {
        "question": "Which AWS service replaces App Mesh for ECS?",
        "options": {
            "ECS Service Connect": "AWS's recommended replacement on ECS.",
            "AWS X-Ray": "X-Ray traces requests; it routes nothing.",
        },
        "answer": "ECS Service Connect",
    },
]


def test_a_wrong_answer_shows_not_quite_and_that_options_feedback():
    shown = quiz.ask(QUESTIONS)
    shown.choices[0].value = "They call notifications too."
    shown.buttons[0].click()
    assert "Not quite. GET /books never touches notifications." in shown.feedback[0].value
    assert "labkit-quiz-wrong" in shown.feedback[0]._dom_classes
    assert shown.score.value == "0 of 2 right so far"


def test_a_right_answer_shows_right_and_its_feedback_and_counts_in_the_score():
    shown = quiz.ask(QUESTIONS)
    assert shown.answer(1, "ECS Service Connect") == "Right. AWS's recommended replacement on ECS."
    assert "labkit-quiz-right" in shown.feedback[1]._dom_classes
    assert shown.score.value == "1 of 2 right so far"


def test_correcting_a_wrong_answer_replaces_its_feedback():
    shown = quiz.ask(QUESTIONS)
    shown.answer(0, "They call notifications too.")
    shown.answer(0, "They waited for one of the 4 shared workers.")
    assert shown.feedback[0].value.endswith("✔ Right. Slow checkouts held every worker.</span>")
    assert shown.feedback[0]._dom_classes.count("labkit-quiz-wrong") == 0
    assert shown.score.value == "1 of 2 right so far"


def test_checking_without_a_choice_asks_for_one():
    shown = quiz.ask(QUESTIONS)
    shown.buttons[0].click()
    assert "Choose an answer first." in shown.feedback[0].value
    assert shown.score.value == "0 of 2 right so far"


def test_the_text_form_lists_questions_and_options_without_the_answers():
    text = quiz.ask(QUESTIONS)._repr_mimebundle_()["text/plain"]
    assert text == (
        "Knowledge check: 2 questions (answer them in JupyterLab)\n"
        "1. Why did catalog reads slow down while only notifications was slow?\n"
        "   ( ) They call notifications too.\n"
        "   ( ) They waited for one of the 4 shared workers.\n"
        "2. Which AWS service replaces App Mesh for ECS?\n"
        "   ( ) ECS Service Connect\n"
        "   ( ) AWS X-Ray"
    )
    assert "Right" not in text and "Slow checkouts" not in text


@pytest.mark.parametrize(
    "broken, message",
    [
        ({"options": {"a": "x", "b": "y"}, "answer": "a"}, "a quiz question needs its text under 'question'"),
        ({"question": "Q?", "options": {"a": "x"}, "answer": "a"}, "'Q?' needs at least two options"),
        ({"question": "Q?", "options": {"a": "x", "b": ""}, "answer": "a"}, "'Q?' has options without feedback: ['b']"),
        ({"question": "Q?", "options": {"a": "x", "b": "y"}, "answer": "c"}, "must be one of its options, found 'c'"),
        ({"question": "Q?", "options": {"a": "x", "b": "y"}, "answer": "a", "hint": "h"}, "unknown keys ['hint']"),
    ],
)
def test_a_question_written_wrongly_is_named_in_the_error(broken, message):
    with pytest.raises(LabkitError, match=message.replace("?", r"\?").replace("[", r"\[").replace("]", r"\]")):
        quiz.ask([broken])
