"""Which of the course's resources a caller means: one lab's or every lab's, one learner's or
everyone's (an instructor's shared account holds every learner's copy of a lab)."""

from dataclasses import dataclass

from labkit import config
from labkit.inventory.base import Tags


def lab_tag(lab: str | None) -> str | None:
    """The labkit:lab tag a lab is selected by: labs are tagged with two digits ("02"), and 2 means 02."""
    if lab is None or not str(lab).strip():
        return None
    lab = str(lab).strip()
    return lab.zfill(2) if lab.isdigit() else lab


@dataclass(frozen=True)
class Selection:
    lab: str | None = None
    owner: str | None = None

    def wants(self, tags: Tags) -> bool:
        return (
            tags.get(config.COURSE_TAG_KEY) == config.COURSE_TAG
            and (self.lab is None or tags.get(config.LAB_TAG_KEY) == self.lab)
            and (self.owner is None or tags.get(config.OWNER_TAG_KEY) == self.owner)
        )

    def __str__(self) -> str:
        """The tags it selects by: "labkit:course=monolith-to-microservices, labkit:lab=02"."""
        described = f"{config.COURSE_TAG_KEY}={config.COURSE_TAG}"
        described += f", {config.LAB_TAG_KEY}={self.lab}" if self.lab else ""
        return described + (f", {config.OWNER_TAG_KEY}={self.owner}" if self.owner else "")
