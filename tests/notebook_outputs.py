"""What nbval compares in a notebook: each code cell's text outputs, sanitized as
tests/nbval_sanitize.cfg says, except in cells tagged nbval-ignore-output."""

import configparser
import re
from pathlib import Path

SANITIZE = configparser.ConfigParser()
SANITIZE.read(Path(__file__).with_name("nbval_sanitize.cfg"))


def compared_outputs(notebook) -> list[str]:
    texts = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or "nbval-ignore-output" in cell.metadata.get("tags", []):
            continue
        # A print can arrive in several stream messages: compare each stream's whole text.
        streams = {}
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                streams[output.name] = streams.get(output.name, "") + output.text
            else:
                texts.append(output.get("data", {}).get("text/plain", ""))
        texts += [streams[name] for name in sorted(streams)]
    return [sanitize(text) for text in texts]


def sanitize(text: str) -> str:
    for section in SANITIZE.sections():
        text = re.sub(SANITIZE[section]["regex"], SANITIZE[section]["replace"], text)
    return text
