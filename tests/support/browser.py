"""The browser the browser tests drive: LABKIT_BROWSER (a Chromium or Google Chrome binary, as on GitHub's Ubuntu
runners, which have no Debian chromium package), else Debian's chromium, as .ci/bootstrap.sh --with-browser
installs it."""

import os

CHROMIUM = os.environ.get("LABKIT_BROWSER") or "/usr/bin/chromium"
