"""`labkit dashboard`: an instructor's live view of every learner's progress, read from their state folders.

learners.py finds the learners and reads their progress; board.py turns it into what the page shows;
server.py serves the page (page.html) and that data on 127.0.0.1; the page polls it every second.
"""
