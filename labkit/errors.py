"""The one exception type labkit raises for problems a learner can act on."""


class LabkitError(Exception):
    """A problem with a message that says what happened and what to do.

    The CLI prints it as one line and exits non-zero; in a notebook it is shown without
    labkit's own traceback (see labkit.course).
    """
